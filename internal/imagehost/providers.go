package imagehost

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// SMMSEndpoint is SM.MS's upload API (v2).
const SMMSEndpoint = "https://sm.ms/api/v2/upload"

// DefaultPicGoURL is PicGo.net's Chevereto upload API, the PICGO_API_URL default: it takes the key as
// the X-API-Key header; other (self-hosted) Chevereto servers get it as the key parameter.
const DefaultPicGoURL = "https://www.picgo.net/api/1/upload"

// SMMS uploads to SM.MS: multipart field smfile, the token in the Authorization header.
type SMMS struct {
	Endpoint string
	Token    string
	Client   *http.Client
}

func newSMMS(token string, c *http.Client) (Uploader, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: UPLOAD_PROVIDER=smms needs SMMS_SECRET_TOKEN", ErrNotConfigured)
	}
	return &SMMS{Endpoint: SMMSEndpoint, Token: token, Client: c}, nil
}

// Upload implements Uploader.
func (s *SMMS) Upload(ctx context.Context, img Image, name string) (string, error) {
	body, ctype, err := multipartBody("smfile", baseName(name), img, map[string]string{"format": "json"})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint, body)
	if err != nil {
		return "", fmt.Errorf("sm.ms: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Basic "+s.Token)
	status, answer, err := send(s.Client, req)
	if err != nil {
		return "", fmt.Errorf("sm.ms: %w", err)
	}
	var out struct {
		Success bool   `json:"success"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Images  string `json:"images"` // the existing copy, when the same image was uploaded before
		Data    struct {
			URL string `json:"url"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		return "", fmt.Errorf("sm.ms answered %d with something that is not its JSON: %s", status, snippet(answer))
	}
	switch {
	case out.Success && out.Data.URL != "":
		return out.Data.URL, nil
	case out.Code == "image_repeated" && out.Images != "":
		return out.Images, nil
	}
	return "", fmt.Errorf("sm.ms refused the upload (%d %s): %s", status, out.Code, out.Message)
}

// PicGo uploads to a Chevereto server such as picgo.net: multipart field source.
type PicGo struct {
	Endpoint string
	Key      string
	Client   *http.Client
}

func newPicGo(endpoint, key string, c *http.Client) (Uploader, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: UPLOAD_PROVIDER=picgo needs PICGO_API_KEY", ErrNotConfigured)
	}
	if endpoint == "" {
		endpoint = DefaultPicGoURL
	}
	return &PicGo{Endpoint: endpoint, Key: key, Client: c}, nil
}

// Upload implements Uploader.
func (p *PicGo) Upload(ctx context.Context, img Image, name string) (string, error) {
	body, ctype, err := multipartBody("source", baseName(name), img, map[string]string{"format": "json"})
	if err != nil {
		return "", err
	}
	target, err := url.Parse(p.Endpoint)
	if err != nil {
		return "", fmt.Errorf("picgo: PICGO_API_URL is not a URL: %w", err)
	}
	byHeader := strings.TrimRight(p.Endpoint, "/") == DefaultPicGoURL
	if !byHeader {
		q := target.Query()
		q.Set("key", p.Key)
		target.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return "", fmt.Errorf("picgo: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	if byHeader {
		req.Header.Set("X-API-Key", p.Key)
	}
	status, answer, err := send(p.Client, req)
	if err != nil {
		return "", fmt.Errorf("picgo: %w", err)
	}
	return picGoURL(status, answer)
}

// picGoURL reads either answer shape: a self-hosted PicGo server's {"success":true,"result":[url]}, or
// Chevereto's {"status_code":200,"image":{"url":...}}.
func picGoURL(status int, answer []byte) (string, error) {
	var out struct {
		Success    json.RawMessage `json:"success"`
		Result     []string        `json:"result"`
		StatusCode int             `json:"status_code"`
		Image      struct {
			URL string `json:"url"`
		} `json:"image"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		return "", fmt.Errorf("picgo answered %d with something that is not its JSON: %s", status, snippet(answer))
	}
	if out.Success != nil && out.Result != nil {
		if string(out.Success) == "true" && len(out.Result) > 0 && out.Result[0] != "" {
			return out.Result[0], nil
		}
		return "", fmt.Errorf("the PicGo server refused the upload (%d): %s", status, snippet(answer))
	}
	if out.StatusCode == http.StatusOK && out.Image.URL != "" {
		return out.Image.URL, nil
	}
	return "", fmt.Errorf("picgo refused the upload (%d): %s", status, firstNonEmpty(out.Error.Message, snippet(answer)))
}

// CloudflareImgBed uploads to a CloudFlare-ImgBed (MarSeventh/CloudFlare-ImgBed) deployment:
// multipart field file, the auth code and folder as query parameters.
type CloudflareImgBed struct {
	Endpoint string // e.g. https://your-imgbed.pages.dev/upload
	AuthCode string
	Folder   string
	Client   *http.Client
}

func newCloudflareImgBed(endpoint, auth, folder string, c *http.Client) (Uploader, error) {
	if endpoint == "" || auth == "" {
		return nil, fmt.Errorf("%w: UPLOAD_PROVIDER=cloudflare_imgbed needs CLOUDFLARE_IMGBED_URL and CLOUDFLARE_IMGBED_AUTH_CODE", ErrNotConfigured)
	}
	return &CloudflareImgBed{Endpoint: endpoint, AuthCode: auth, Folder: folder, Client: c}, nil
}

// Upload implements Uploader.
func (c *CloudflareImgBed) Upload(ctx context.Context, img Image, name string) (string, error) {
	target, err := url.Parse(c.Endpoint)
	if err != nil || target.Host == "" {
		return "", fmt.Errorf("cloudflare_imgbed: CLOUDFLARE_IMGBED_URL is not a URL")
	}
	q := target.Query()
	if c.Folder != "" {
		q.Set("uploadFolder", c.Folder)
	}
	if c.AuthCode != "" {
		q.Set("authCode", c.AuthCode)
	}
	q.Set("uploadNameType", "origin")
	target.RawQuery = q.Encode()
	body, ctype, err := multipartBody("file", baseName(name), img, nil)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return "", fmt.Errorf("cloudflare_imgbed: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	status, answer, err := send(c.Client, req)
	if err != nil {
		return "", fmt.Errorf("cloudflare_imgbed: %w", err)
	}
	var out []struct {
		Src string `json:"src"`
	}
	if status != http.StatusOK || json.Unmarshal(answer, &out) != nil || len(out) == 0 || out[0].Src == "" {
		return "", fmt.Errorf("cloudflare_imgbed refused the upload (%d): %s", status, snippet(answer))
	}
	return c.absolute(out[0].Src), nil
}

// absolute resolves the relative path the server answers (/file/<name>) against the deployment: the
// upload URL up to its /upload.
func (c *CloudflareImgBed) absolute(src string) string {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return src
	}
	base, _, _ := strings.Cut(c.Endpoint, "?")
	if i := strings.LastIndex(base, "/upload"); i >= 0 {
		base = base[:i]
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(src, "/")
}

// OSSConfig are the Aliyun OSS settings.
type OSSConfig struct {
	Endpoint        string // oss-cn-hangzhou.aliyuncs.com, or a full URL for a path-style endpoint
	Bucket          string
	Region          string
	AccessKeyID     string
	AccessKeySecret string
}

// AliyunOSS puts images into an OSS bucket as public-read objects, signed with OSS's V1 header
// signature (help.aliyun.com, "在Header中包含签名").
type AliyunOSS struct {
	OSSConfig
	Client *http.Client
	Now    func() time.Time
}

func newAliyunOSS(cfg OSSConfig, c *http.Client) (Uploader, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" || cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" || cfg.Region == "" {
		return nil, fmt.Errorf("%w: UPLOAD_PROVIDER=aliyun_oss needs OSS_ENDPOINT, OSS_BUCKET_NAME, OSS_REGION, OSS_ACCESS_KEY and OSS_ACCESS_KEY_SECRET", ErrNotConfigured)
	}
	return &AliyunOSS{OSSConfig: cfg, Client: c, Now: time.Now}, nil
}

// ObjectURL is where an object lives: virtual-hosted https://<bucket>.<endpoint>/<name>, or
// <endpoint>/<bucket>/<name> when the endpoint is given with a scheme (a gateway or a test server).
func (o *AliyunOSS) ObjectURL(name string) string {
	ep := strings.TrimRight(o.Endpoint, "/")
	if strings.HasPrefix(ep, "http://") || strings.HasPrefix(ep, "https://") {
		return ep + "/" + o.Bucket + "/" + name
	}
	return "https://" + o.Bucket + "." + ep + "/" + name
}

// Upload implements Uploader.
func (o *AliyunOSS) Upload(ctx context.Context, img Image, name string) (string, error) {
	target := o.ObjectURL(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(img.Data))
	if err != nil {
		return "", fmt.Errorf("aliyun_oss: %w", err)
	}
	sum := md5.Sum(img.Data)
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	h := req.Header
	h.Set("Content-Type", normalizeMime(img.MimeType))
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("Date", now().UTC().Format(http.TimeFormat))
	h.Set("x-oss-object-acl", "public-read")
	h.Set("Authorization", "OSS "+o.AccessKeyID+":"+OSSSignature(o.AccessKeySecret, http.MethodPut, h, "/"+o.Bucket+"/"+name))
	status, answer, err := send(o.Client, req)
	if err != nil {
		return "", fmt.Errorf("aliyun_oss: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("aliyun_oss refused the upload (%d): %s", status, snippet(answer))
	}
	return target, nil
}

// OSSSignature is OSS's V1 signature: base64(HMAC-SHA1(secret, VERB\nContent-MD5\nContent-Type\nDate\n
// CanonicalizedOSSHeaders CanonicalizedResource)), where the x-oss-* headers are lower-cased, sorted and
// written as name:value\n each.
func OSSSignature(secret, verb string, h http.Header, resource string) string {
	var names []string
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(verb + "\n" + h.Get("Content-MD5") + "\n" + h.Get("Content-Type") + "\n" + h.Get("Date") + "\n")
	for _, n := range names {
		b.WriteString(n + ":" + strings.TrimSpace(h.Get(n)) + "\n")
	}
	b.WriteString(resource)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
