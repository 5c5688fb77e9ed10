package translate

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gemgate/gemgate/internal/gemini"
)

// Limits of a server-side fetch of an image_url. They bound what one request can make gemgate do:
// without them an image URL is a way to tie up the gateway or read its private network (reference
// §26 item 7).
const (
	fetchTimeout   = 10 * time.Second
	maxFetchBytes  = 20 << 20
	maxRedirects   = 5
	fetchParallel  = 4
	maxFetches     = 64 // URLs one request may make gemgate download
	fetchUserAgent = "gemgate (image fetch)"
)

// Fetcher downloads media named by URL in a request. Every connection it opens goes to a public
// address: the check runs on the resolved IP at dial time (so DNS tricks and redirects cannot get
// around it), not on the host name.
type Fetcher struct {
	client  *http.Client
	timeout time.Duration
	limit   int64
}

// NewFetcher refuses every non-public address; allowLoopback lets tests reach their own servers.
func NewFetcher(allowLoopback bool) *Fetcher {
	return NewFetcherWith(func(address string) error { return checkDialAddress(address, allowLoopback) })
}

// NewFetcherWith checks every address it dials with check (tests narrow it further).
func NewFetcherWith(check func(address string) error) *Fetcher {
	dialer := &net.Dialer{
		Timeout: fetchTimeout,
		Control: func(_, address string, _ syscall.RawConn) error { return check(address) },
	}
	transport := &http.Transport{
		// No proxy from the environment: through a proxy the dial check would see the proxy's address,
		// not the target's.
		Proxy:                 nil,
		DialContext:           publicDial(dialer, check),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   fetchTimeout,
		ResponseHeaderTimeout: fetchTimeout,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   fetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s: URL", req.URL.Scheme)
			}
			return checkHostForm(req.URL.Hostname())
		},
	}
	return &Fetcher{client: client, timeout: fetchTimeout, limit: maxFetchBytes}
}

// publicDial resolves host names itself, so that what a client learns is the same whether a name
// does not exist or names an internal machine ("does not resolve to a public address"), and never
// the resolver's own address, which Go's DNS errors carry. The dialer's Control check stays as the
// last word on every connection.
func publicDial(dialer *net.Dialer, check func(address string) error) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if err := check(net.JoinHostPort(ip.String(), port)); err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, address)
		}
		ips, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		var first error
		for _, ip := range ips {
			target := net.JoinHostPort(ip.Unmap().String(), port)
			if check(target) != nil {
				continue
			}
			c, err := dialer.DialContext(ctx, network, target)
			if err == nil {
				return c, nil
			}
			first = cmp.Or(first, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if first != nil {
			return nil, first
		}
		return nil, errNoPublicAddress
	}
}

// errNoPublicAddress is a host name with no public address: unknown and internal names alike.
var errNoPublicAddress = errors.New("its host name does not resolve to a public address")

// checkHostForm refuses IPv4 addresses written in the forms inet_aton also accepts (2130706433,
// 0177.0.0.1, 0x7f.0.0.1, 127.1): they are not host names, so they must not go to DNS, and a
// resolver or a library that reads them as numbers would reach an address the client never spelled
// out. As in browsers (WHATWG URL), a host whose last label is a number is an IPv4 address.
func checkHostForm(host string) error {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := labels[len(labels)-1]
	if !numericLabel(last) {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return nil
	}
	return fmt.Errorf("its host %q is an IP address written in a non-standard form; gemgate fetches only host names and addresses written a.b.c.d", host)
}

func numericLabel(s string) bool {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// errPrivateAddress is what a refused dial reports.
var errPrivateAddress = errors.New("refusing to fetch from a private, loopback or reserved address")

func checkDialAddress(address string, allowLoopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errPrivateAddress, address)
	}
	ip := ap.Addr().Unmap()
	if allowLoopback && ip.IsLoopback() {
		return nil
	}
	if refusedAddr(ip) {
		return fmt.Errorf("%w: %s", errPrivateAddress, ip)
	}
	return nil
}

// refusedPrefixes are special-purpose ranges netip has no predicate for (RFC 6890 and successors).
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"), // IPv4-compatible IPv6 (deprecated): ::127.0.0.1 is no public host
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// refusedAddr reports an address a public image host cannot have.
func refusedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	// NAT64 and 6to4 addresses carry an IPv4 address that may itself be private.
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return refusedAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(ip):
		return refusedAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return false
}

// Fetch downloads rawURL and returns its media type and base64 content.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (mimeType, data string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", errors.New("only data:, http: and https: URLs are supported")
	}
	if err := checkHostForm(u.Hostname()); err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("User-Agent", fetchUserAgent)
	req.Header.Set("Accept", "image/*,application/pdf,audio/*,video/*;q=0.9,*/*;q=0.5")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", "", fetchProblem(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("the server answered %s", resp.Status)
	}
	if resp.ContentLength > f.limit {
		return "", "", fmt.Errorf("it is larger than %d MiB", f.limit>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.limit+1))
	if err != nil {
		return "", "", fetchProblem(err)
	}
	if int64(len(body)) > f.limit {
		return "", "", fmt.Errorf("it is larger than %d MiB", f.limit>>20)
	}
	mimeType = mediaType(resp.Header.Get("Content-Type"), body)
	if !acceptedMedia(mimeType) {
		return "", "", fmt.Errorf("its content type %s is not an image, audio, video or PDF", mimeType)
	}
	return mimeType, base64.StdEncoding.EncodeToString(body), nil
}

// fetchProblem is what a client is told about a failed fetch: why, in words that name nothing of
// gemgate's own network (no resolver, no local address).
func fetchProblem(err error) error {
	var (
		oe  *net.OpError
		dns *net.DNSError
		ue  *url.Error
	)
	switch {
	case errors.Is(err, errPrivateAddress):
		return errPrivateAddress
	case errors.Is(err, errNoPublicAddress), errors.As(err, &dns):
		return errNoPublicAddress
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s", fetchTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("its server refused the connection")
	case errors.As(err, &oe) && oe.Op == "dial":
		return errors.New("its server could not be reached")
	case errors.As(err, &ue):
		return ue.Err
	}
	return err
}

// mediaType is the declared type of a download, or the sniffed one when the server did not say.
func mediaType(header string, body []byte) string {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil || mt == "" || mt == "application/octet-stream" || mt == "binary/octet-stream" {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	return normalizeMime(mt)
}

func normalizeMime(mt string) string {
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "image/jpg" {
		return "image/jpeg"
	}
	return mt
}

func acceptedMedia(mt string) bool {
	return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/") ||
		mt == "application/pdf"
}

// ParseDataURL reads data:<type>[;params][;base64],<data> and returns the type and base64 data.
func ParseDataURL(raw string) (mimeType, data string, err error) {
	rest, ok := CutPrefixFold(raw, "data:")
	if !ok {
		return "", "", errors.New("not a data: URL")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", errors.New("malformed data: URL (no comma)")
	}
	params := strings.Split(meta, ";")
	mimeType = normalizeMime(params[0])
	isBase64 := false
	for _, p := range params[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isBase64 = true
		}
	}
	if isBase64 {
		data = strings.TrimSpace(payload)
	} else {
		plain, perr := url.PathUnescape(payload)
		if perr != nil {
			return "", "", fmt.Errorf("malformed data: URL: %w", perr)
		}
		data = base64.StdEncoding.EncodeToString([]byte(plain))
	}
	if data == "" {
		return "", "", errors.New("empty data: URL")
	}
	if mimeType == "" {
		mimeType = SniffBase64(data)
	}
	return mimeType, data, nil
}

// SniffBase64 guesses the type of base64 data from its first bytes.
func SniffBase64(data string) string {
	head := data[:min(len(data), 684)] // 512 bytes once decoded
	head = head[:len(head)/4*4]
	b, err := base64.StdEncoding.DecodeString(head)
	if err != nil {
		return "application/octet-stream"
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(b))
	return normalizeMime(mt)
}

func CutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// FetchError is media named by URL that could not be used: the client's mistake to fix, reported
// with the parameter it came from.
type FetchError struct {
	Param   string
	Code    string
	Message string
}

func (e *FetchError) Error() string { return e.Message }

// MediaJob is a URL to download into a part that the translation already placed.
type MediaJob struct {
	URL   string
	Param string // where the URL was in the client's request, for the error
	Blob  *gemini.Blob
}

// FetchAll downloads the jobs a few at a time. The first failure is reported with the URL and the
// parameter it came from (a picture the model cannot see is the client's problem to fix, not something
// to hide in a text part), and it cancels the other downloads: the request is refused anyway.
func (f *Fetcher) FetchAll(ctx context.Context, jobs []*MediaJob) error {
	if len(jobs) == 0 {
		return nil
	}
	if len(jobs) > maxFetches {
		return &FetchError{Param: jobs[maxFetches].Param, Code: "too_many_image_urls",
			Message: fmt.Sprintf("The request names %d image URLs; gemgate downloads at most %d per request (send the rest as data: URLs).", len(jobs), maxFetches)}
	}
	// A context of its own name: reassigning the parameter, which the goroutines capture, would move it
	// to the heap on every call, the many without media included.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, fetchParallel)
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			mt, data, err := f.Fetch(fctx, job.URL)
			if err == nil {
				job.Blob.MimeType, job.Blob.Data = mt, data
				return
			}
			once.Do(func() {
				first = &FetchError{Param: job.Param, Code: "invalid_image_url",
					Message: fmt.Sprintf("Could not download %s: %v.", shortURL(job.URL), err)}
				cancel()
			})
		}()
	}
	wg.Wait()
	return first
}

func shortURL(u string) string {
	if len(u) > 200 {
		return u[:200] + "…"
	}
	return u
}
