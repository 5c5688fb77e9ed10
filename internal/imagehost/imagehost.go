// Package imagehost turns images that Gemini or Imagen produced into links: it uploads them to the image
// host chosen by UPLOAD_PROVIDER (SM.MS, PicGo/Chevereto, CloudFlare-ImgBed, Aliyun OSS) or keeps them
// itself (local, the default) and serves them under PUBLIC_URL. A picture is never lost: when hosting is
// not configured or fails, the caller gets a data: URL that carries the image itself, and the reason is
// logged for the operator.
package imagehost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/publicurl"
)

// uploadTimeout bounds one upload, so a slow image host delays an answer by at most this much before
// the image goes inline instead.
const uploadTimeout = 30 * time.Second

// maxAnswerBytes bounds what is read of an image host's answer.
const maxAnswerBytes = 1 << 20

// Image is one picture to host.
type Image struct {
	MimeType string
	Data     []byte
}

// Uploader stores an image where browsers can fetch it and returns its URL. name is a relative path
// such as 2025/01/31/0123456789abcdef.png; hosts that take only a file name get its last element.
type Uploader interface {
	Upload(ctx context.Context, img Image, name string) (string, error)
}

// ErrNotConfigured is a provider whose settings are missing (the reference's "configured" rule).
var ErrNotConfigured = errors.New("image host not configured")

// Host is the image sink of chat answers and the URL maker of the images endpoint.
type Host struct {
	Settings func() *config.Snapshot
	Local    *Local
	Client   *http.Client // nil: a client with uploadTimeout
	Logger   *slog.Logger
	// uploader overrides the provider chosen from the settings (tests).
	uploader Uploader
}

// ImageMarkdown is the Markdown that shows the image in a chat answer.
func (h *Host) ImageMarkdown(ctx context.Context, mimeType, data string) string {
	return "![image](" + h.ImageURL(ctx, mimeType, data) + ")"
}

// ImageURL returns a link to the base64 image: hosted, or a data: URL when hosting is impossible.
func (h *Host) ImageURL(ctx context.Context, mimeType, data string) string {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return DataURL(mimeType, data)
	}
	link, err := h.Upload(ctx, Image{MimeType: mimeType, Data: raw})
	if err != nil {
		h.logger().WarnContext(ctx, "image hosting failed; the image is sent inline as a data: URL instead",
			"provider", h.providerName(), "err", err)
		return DataURL(mimeType, data)
	}
	return link
}

// Upload hosts img with the configured provider.
func (h *Host) Upload(ctx context.Context, img Image) (string, error) {
	up, err := h.provider()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	return up.Upload(ctx, img, ObjectName(img.MimeType, time.Now()))
}

// DataURL inlines an image: needs no storage and shows in every Markdown renderer that accepts data: URLs.
func DataURL(mimeType, data string) string {
	return "data:" + mimeType + ";base64," + data
}

func (h *Host) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Host) providerName() string {
	return strings.ToLower(strings.TrimSpace(config.UploadProvider.Get(h.Settings())))
}

func (h *Host) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{Timeout: uploadTimeout}

// provider builds the uploader UPLOAD_PROVIDER names from the current settings, so a change in the admin
// panel applies to the next image.
func (h *Host) provider() (Uploader, error) {
	if h.uploader != nil {
		return h.uploader, nil
	}
	snap := h.Settings()
	c := h.client()
	switch name := h.providerName(); name {
	case config.ProviderLocal:
		if h.Local == nil {
			return nil, fmt.Errorf("%w: the local image store is not running", ErrNotConfigured)
		}
		return localUploader{h.Local, snap}, nil
	case config.ProviderSMMS:
		return newSMMS(config.SMMSSecretToken.Get(snap), c)
	case config.ProviderPicGo:
		return newPicGo(config.PicGoAPIURL.Get(snap), config.PicGoAPIKey.Get(snap), c)
	case config.ProviderCloudflareImgbed:
		return newCloudflareImgBed(config.CloudflareImgbedURL.Get(snap), config.CloudflareImgbedAuthCode.Get(snap),
			config.CloudflareImgbedUploadFolder.Get(snap), c)
	case config.ProviderAliyunOSS:
		return newAliyunOSS(OSSConfig{
			Endpoint: config.OSSEndpoint.Get(snap), Bucket: config.OSSBucketName.Get(snap), Region: config.OSSRegion.Get(snap),
			AccessKeyID: config.OSSAccessKey.Get(snap), AccessKeySecret: config.OSSAccessKeySecret.Get(snap),
		}, c)
	default:
		return nil, fmt.Errorf("%w: unknown UPLOAD_PROVIDER %q", ErrNotConfigured, name)
	}
}

// localUploader adapts the local store to Uploader: its links live under the request's public URL.
type localUploader struct {
	l    *Local
	snap *config.Snapshot
}

func (u localUploader) Upload(ctx context.Context, img Image, _ string) (string, error) {
	base := publicurl.From(ctx)
	if base == "" {
		return "", fmt.Errorf("%w: no PUBLIC_URL is set and the request's Host header is not usable", ErrNotConfigured)
	}
	ttl := time.Duration(config.LocalImageTTLHours.Get(u.snap)) * time.Hour
	limit := int64(config.LocalImageMaxMB.Get(u.snap)) << 20
	file, err := u.l.Put(ctx, img, ttl, limit)
	if err != nil {
		return "", err
	}
	return base + "/img/" + file, nil
}

// extensions are the image types gemgate hosts, with the file extension each is served under. Only
// raster formats: an SVG could carry script.
var extensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
}

// normalizeMime lower-cases and drops parameters ("image/PNG; x=y" is image/png).
func normalizeMime(mt string) string {
	if parsed, _, err := mime.ParseMediaType(mt); err == nil {
		mt = parsed
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "image/jpg" {
		return "image/jpeg"
	}
	return mt
}

// extension is the file extension of an image type; unknown types keep .png, as the reference named
// every upload.
func extension(mimeType string) string {
	if ext, ok := extensions[normalizeMime(mimeType)]; ok {
		return ext
	}
	return ".png"
}

// ObjectName is where an image is filed at a host: YYYY/MM/DD/<16 random hex>.<ext>, the reference's
// layout with twice the randomness, so names neither collide nor can be guessed.
func ObjectName(mimeType string, now time.Time) string {
	return now.UTC().Format("2006/01/02/") + randomHex(8) + extension(mimeType)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func baseName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// multipartBody is a form with the image under field and the extra fields; the file part carries the
// image's own type, as a browser upload would.
func multipartBody(field, filename string, img Image, extra map[string]string) (*bytes.Buffer, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range extra {
		if err := w.WriteField(k, v); err != nil {
			return nil, "", err
		}
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, filename))
	hdr.Set("Content-Type", normalizeMime(img.MimeType))
	part, err := w.CreatePart(hdr)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(img.Data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return &buf, w.FormDataContentType(), nil
}

// send makes the request and reads the answer (bounded). Transport errors leave out the URL, which may
// carry a key in its query.
func send(c *http.Client, req *http.Request) (int, []byte, error) {
	req.Header.Set("User-Agent", "gemgate")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s://%s%s: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the image host's answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
