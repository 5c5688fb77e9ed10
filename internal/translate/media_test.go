package translate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/testutil"
)

func TestParseDataURL(t *testing.T) {
	for _, tc := range []struct{ in, mime, data, err string }{
		{"data:image/png;base64,iVBORw0KGgo=", "image/png", "iVBORw0KGgo=", ""},
		{"DATA:Image/JPG;base64,/9j/", "image/jpeg", "/9j/", ""},
		{"data:image/webp;name=a.webp;base64,UklGRg==", "image/webp", "UklGRg==", ""},
		{"data:text/plain,hi%20there", "text/plain", "aGkgdGhlcmU=", ""},
		{"data:;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "image/png", "", ""},
		{"data:image/png;base64", "", "", "comma"},
		{"data:image/png;base64,", "", "", "empty"},
		{"data:text/plain,%zz", "", "", "malformed"},
		{"https://x/y.png", "", "", "not a data"},
	} {
		mt, data, err := ParseDataURL(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil || mt != tc.mime || (tc.data != "" && data != tc.data):
			t.Errorf("%s → %q %q %v; want %q %q", tc.in, mt, data, err, tc.mime, tc.data)
		}
	}
}

func TestRefusedAddresses(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd00:ec2::254": true, "0.0.0.0": true, "::": true,
		"100.64.0.1": true, "224.0.0.1": true, "255.255.255.255": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true,
		"64:ff9b::a00:1": true, "2002:c0a8:101::1": true, "198.18.0.1": true, "240.0.0.1": true,
		"8.8.8.8": false, "142.250.72.14": false, "2607:f8b0:4004:800::200e": false, "::ffff:8.8.8.8": false,
		"64:ff9b::808:808": false, "2002:808:808::1": false,
	} {
		if got := refusedAddr(netip.MustParseAddr(addr)); got != refused {
			t.Errorf("%s refused=%v, want %v", addr, got, refused)
		}
	}
	if checkDialAddress("127.0.0.1:80", true) != nil || checkDialAddress("10.0.0.1:80", true) == nil {
		t.Error("allowLoopback must allow loopback only")
	}
	if checkDialAddress("not-an-address", false) == nil {
		t.Error("an unparsable address was allowed")
	}
}

func TestFetchImage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		png := "\x89PNG\r\n\x1a\n0000"
		switch r.URL.Path {
		case "/typed.jpg":
			w.Header().Set("Content-Type", "image/jpg; charset=binary")
			w.Write([]byte("jpegbytes"))
		case "/sniffed":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte(png))
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html></html>"))
		case "/big":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte(strings.Repeat("x", 64)))
		case "/big-chunked":
			w.Header().Set("Content-Type", "image/png")
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("x", 64)))
		case "/slow":
			// Answers only after the fetcher gave up (or after testutil.GiveUp, so that a fetcher without a
			// timeout gets an image and fails the test instead of hanging it).
			select {
			case <-r.Context().Done():
			case <-time.After(testutil.GiveUp):
			}
			w.Write([]byte(png))
		case "/file-redirect":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := NewFetcher(true)
	f.limit = 32
	f.timeout = 100 * time.Millisecond
	ctx := context.Background()
	for path, want := range map[string]string{"/typed.jpg": "image/jpeg", "/sniffed": "image/png"} {
		mt, data, err := f.Fetch(ctx, srv.URL+path)
		if err != nil || mt != want || data == "" {
			t.Errorf("%s: %q %q %v", path, mt, data, err)
		}
	}
	for path, want := range map[string]string{
		"/page": "text/html", "/missing": "404", "/big": "larger", "/big-chunked": "larger", "/slow": "no answer within",
		"/file-redirect": "file", "/loop": "redirects",
	} {
		if _, _, err := f.Fetch(ctx, srv.URL+path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", path, err, want)
		}
	}
	if _, _, err := f.Fetch(ctx, "gopher://x/y"); err == nil {
		t.Error("a non-http URL was fetched")
	}
}

func TestFetchRefusesPrivateAddressesAtDialTime(t *testing.T) {
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	strict := NewFetcher(false)
	if _, _, err := strict.Fetch(context.Background(), target.URL+"/x.png"); !errors.Is(err, errPrivateAddress) {
		t.Errorf("%s: %v, want a refusal", target.URL, err)
	}
	if _, _, err := strict.Fetch(context.Background(), strings.Replace(target.URL, "127.0.0.1", "localhost", 1)+"/x.png"); !errors.Is(err, errNoPublicAddress) {
		t.Errorf("localhost: %v, want a refusal", err)
	}
	// A public-looking first hop that redirects inward is refused on the redirect's own dial.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/inside.png", http.StatusFound)
	}))
	defer front.Close()
	frontAddr := strings.TrimPrefix(front.URL, "http://")
	onlyFront := NewFetcherWith(func(address string) error {
		if address == frontAddr {
			return nil
		}
		return errPrivateAddress
	})
	if _, _, err := onlyFront.Fetch(context.Background(), front.URL+"/a.png"); !errors.Is(err, errPrivateAddress) {
		t.Errorf("redirect to a refused address: %v", err)
	}
	if hits != 0 {
		t.Fatalf("a refused address was reached %d times", hits)
	}
}

func TestFetchAllReportsURLAndParam(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a"))
	}))
	defer srv.Close()
	f := NewFetcher(true)
	jobs := make([]*MediaJob, 6)
	for i := range jobs {
		jobs[i] = &MediaJob{URL: srv.URL + "/ok.gif", Param: "p", Blob: &gemini.Blob{}}
	}
	if err := f.FetchAll(context.Background(), jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Blob.MimeType != "image/gif" || j.Blob.Data != "R0lGODlh" {
			t.Fatalf("blob not filled: %+v", j.Blob)
		}
	}
	bad := &MediaJob{URL: srv.URL + "/gone.png", Param: "messages[2].content[1].image_url.url", Blob: &gemini.Blob{}}
	err := f.FetchAll(context.Background(), append(jobs, bad))
	var re *FetchError
	if !errors.As(err, &re) || re.Code != "invalid_image_url" || re.Param != bad.Param || !strings.Contains(re.Message, bad.URL) {
		t.Fatalf("want a 400 naming the URL and param, got %v", err)
	}
}

// A name that does not exist and a name of an internal machine get the same answer, which names
// neither the resolver nor any address: a client cannot map the private network by asking.
func TestFetchErrorsRevealNoInternalNames(t *testing.T) {
	strict := NewFetcher(false)
	var msgs []string
	for _, u := range []string{"http://localhost/x.png", "http://no-such-host.invalid/x.png", "https://ip6-localhost:8443/x.png"} {
		_, _, err := strict.Fetch(context.Background(), u)
		if err == nil {
			t.Fatalf("%s was fetched", u)
		}
		if strings.Contains(err.Error(), ":53") || strings.Contains(err.Error(), "lookup") || strings.Contains(err.Error(), "127.0.0") {
			t.Errorf("%s: the error shows the resolver or an address: %v", u, err)
		}
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("an internal name and an unknown one answer differently: %q", msgs)
	}
}

// IPv4 addresses in the forms inet_aton accepts are refused before any lookup or dial, whatever
// address they stand for; ordinary names and dotted quads are not affected.
func TestFetchRefusesNumericHostForms(t *testing.T) {
	dialed := 0
	f := NewFetcherWith(func(string) error { dialed++; return errPrivateAddress })
	for _, host := range []string{"2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0x7f000001", "127.0.1", "1.2.3.0x4", "08.8.8.8", "8.8.8.8.", "example.0x10"} {
		_, _, err := f.Fetch(context.Background(), "http://"+host+"/x.png")
		if err == nil || !strings.Contains(err.Error(), "non-standard form") {
			t.Errorf("%s: %v, want a refusal of the form", host, err)
		}
	}
	if dialed != 0 {
		t.Fatalf("%d numeric host forms were dialed", dialed)
	}
	for _, host := range []string{"8.8.8.8", "1x.example", "a.b.c1", "example.com"} {
		if err := checkHostForm(host); err != nil {
			t.Errorf("%s refused: %v", host, err)
		}
	}
}
