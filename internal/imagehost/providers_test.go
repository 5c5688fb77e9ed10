package imagehost

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testImage = Image{MimeType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nnot really a png")}

// readFile checks a multipart/form-data request and returns its fields and the one file part, as the
// provider's documentation describes the form.
func readFile(t *testing.T, r *http.Request, field string) (fields map[string]string, filename, ctype string, data []byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Errorf("Content-Type %q, want multipart/form-data", r.Header.Get("Content-Type"))
		return nil, "", "", nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	fields = map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.FileName() == "" {
			fields[p.FormName()] = string(b)
			continue
		}
		if p.FormName() != field {
			t.Errorf("file sent as field %q, want %q", p.FormName(), field)
		}
		filename, ctype, data = p.FileName(), p.Header.Get("Content-Type"), b
	}
	return fields, filename, ctype, data
}

func checkImage(t *testing.T, filename, ctype string, data []byte) {
	t.Helper()
	if string(data) != string(testImage.Data) || ctype != "image/png" || !strings.HasSuffix(filename, ".png") || strings.Contains(filename, "/") {
		t.Errorf("file part: name %q type %q, %d bytes", filename, ctype, len(data))
	}
}

func TestSMMS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/upload" || r.Header.Get("Authorization") != "Basic tok-123" {
			t.Errorf("%s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		fields, name, ctype, data := readFile(t, r, "smfile")
		checkImage(t, name, ctype, data)
		if fields["format"] != "json" {
			t.Errorf("format %q", fields["format"])
		}
		fmt.Fprint(w, `{"success":true,"code":"success","message":"Upload success.","data":{"url":"https://s2.loli.net/2025/01/01/abc.png","delete":"https://sm.ms/delete/x"},"RequestId":"1"}`)
	}))
	defer srv.Close()
	s := &SMMS{Endpoint: srv.URL + "/api/v2/upload", Token: "tok-123", Client: srv.Client()}
	got, err := s.Upload(context.Background(), testImage, "2025/01/01/abc.png")
	if err != nil || got != "https://s2.loli.net/2025/01/01/abc.png" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestSMMSRepeatedImageAndRefusal(t *testing.T) {
	t.Parallel()
	answer := `{"success":false,"code":"image_repeated","message":"Image upload repeated limit","images":"https://s2.loli.net/old.png"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, answer) }))
	defer srv.Close()
	s := &SMMS{Endpoint: srv.URL, Token: "t", Client: srv.Client()}
	if got, err := s.Upload(context.Background(), testImage, "a.png"); err != nil || got != "https://s2.loli.net/old.png" {
		t.Fatalf("repeated: %q %v", got, err)
	}
	answer = `{"success":false,"code":"unauthorized","message":"Get token first."}`
	if _, err := s.Upload(context.Background(), testImage, "a.png"); err == nil || !strings.Contains(err.Error(), "Get token first") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestPicGoDefaultHostUsesHeader(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "chv_key" || r.URL.Query().Get("key") != "" {
			t.Errorf("auth: header %q query %q", r.Header.Get("X-API-Key"), r.URL.RawQuery)
		}
		fields, name, ctype, data := readFile(t, r, "source")
		checkImage(t, name, ctype, data)
		if fields["format"] != "json" {
			t.Errorf("format %q", fields["format"])
		}
		fmt.Fprint(w, `{"status_code":200,"success":{"message":"image uploaded","code":200},"image":{"url":"https://www.picgo.net/image/x.png"},"status_txt":"OK"}`)
	}))
	defer srv.Close()
	// The header form is for picgo.net itself; route its URL to the test server.
	client := &http.Client{Transport: rewriteTo(srv.URL)}
	p := &PicGo{Endpoint: DefaultPicGoURL, Key: "chv_key", Client: client}
	got, err := p.Upload(context.Background(), testImage, "x.png")
	if err != nil || got != "https://www.picgo.net/image/x.png" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestPicGoSelfHostedUsesQueryKey(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/1/upload" || r.URL.Query().Get("key") != "self key" || r.Header.Get("X-API-Key") != "" {
			t.Errorf("%s %q header %q", r.URL.Path, r.URL.RawQuery, r.Header.Get("X-API-Key"))
		}
		_, name, ctype, data := readFile(t, r, "source")
		checkImage(t, name, ctype, data)
		fmt.Fprint(w, `{"success":true,"result":["https://pics.example.com/x.png"]}`)
	}))
	defer srv.Close()
	p := &PicGo{Endpoint: srv.URL + "/api/1/upload", Key: "self key", Client: srv.Client()}
	got, err := p.Upload(context.Background(), testImage, "x.png")
	if err != nil || got != "https://pics.example.com/x.png" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestPicGoRefusal(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"status_code":400,"error":{"message":"Invalid API key","code":100},"status_txt":"Bad Request"}`)
	}))
	defer srv.Close()
	p := &PicGo{Endpoint: srv.URL, Key: "k", Client: srv.Client()}
	if _, err := p.Upload(context.Background(), testImage, "x.png"); err == nil || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("%v", err)
	}
}

func TestCloudflareImgBed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != "/upload" || q.Get("authCode") != "code&1" || q.Get("uploadFolder") != "gemini" ||
			q.Get("uploadNameType") != "origin" {
			t.Errorf("%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		_, name, ctype, data := readFile(t, r, "file")
		checkImage(t, name, ctype, data)
		fmt.Fprintf(w, `[{"src":"/file/%s"}]`, name)
	}))
	defer srv.Close()
	c := &CloudflareImgBed{Endpoint: srv.URL + "/upload", AuthCode: "code&1", Folder: "gemini", Client: srv.Client()}
	got, err := c.Upload(context.Background(), testImage, "2025/01/01/abc.png")
	if err != nil || got != srv.URL+"/file/abc.png" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestCloudflareImgBedRefusal(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"Unauthorized"}`)
	}))
	defer srv.Close()
	c := &CloudflareImgBed{Endpoint: srv.URL + "/upload", AuthCode: "x", Client: srv.Client()}
	if _, err := c.Upload(context.Background(), testImage, "a.png"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("%v", err)
	}
}

// ossStringToSign is written from Aliyun's documentation independently of the implementation: the
// signature is recomputed here and compared, not merely checked for presence.
func ossExpectedAuth(r *http.Request, id, secret, bucket, object string) string {
	toSign := "PUT\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" + r.Header.Get("Date") + "\n" +
		"x-oss-object-acl:public-read\n" + "/" + bucket + "/" + object
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign))
	return "OSS " + id + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestAliyunOSS(t *testing.T) {
	t.Parallel()
	const id, secret, bucket = "LTAI5tExample", "s3cr3t+/=", "gemgate-img"
	fixed := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	var object string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := md5.Sum(body)
		object = strings.TrimPrefix(r.URL.Path, "/"+bucket+"/")
		switch {
		case r.Method != http.MethodPut:
			t.Errorf("method %s", r.Method)
		case r.Header.Get("Date") != "Tue, 04 Mar 2025 05:06:07 GMT":
			t.Errorf("Date %q", r.Header.Get("Date"))
		case r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]):
			t.Errorf("Content-MD5 %q", r.Header.Get("Content-MD5"))
		case r.Header.Get("Content-Type") != "image/png" || r.Header.Get("x-oss-object-acl") != "public-read":
			t.Errorf("headers %v", r.Header)
		case r.Header.Get("Authorization") != ossExpectedAuth(r, id, secret, bucket, object):
			t.Errorf("Authorization %q, want %q", r.Header.Get("Authorization"), ossExpectedAuth(r, id, secret, bucket, object))
		case string(body) != string(testImage.Data):
			t.Errorf("body %q", body)
		}
		w.Header().Set("ETag", `"x"`)
	}))
	defer srv.Close()
	o := &AliyunOSS{OSSConfig: OSSConfig{Endpoint: srv.URL, Bucket: bucket, Region: "cn-hangzhou", AccessKeyID: id, AccessKeySecret: secret},
		Client: srv.Client(), Now: func() time.Time { return fixed }}
	got, err := o.Upload(context.Background(), testImage, "2025/03/04/0123456789abcdef.png")
	if err != nil || object != "2025/03/04/0123456789abcdef.png" || got != srv.URL+"/"+bucket+"/"+object {
		t.Fatalf("%q %v (object %q)", got, err, object)
	}
}

// TestOSSSignatureDocumentedExample checks the signature against the worked example of Aliyun's V1
// documentation (a PUT with Content-MD5, Content-Type, Date and two x-oss- headers).
func TestOSSSignatureDocumentedExample(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Content-MD5", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=")
	h.Set("Content-Type", "text/html")
	h.Set("Date", "Thu, 17 Nov 2005 18:49:58 GMT")
	h.Set("X-OSS-Meta-Author", "foo@bar.com")
	h.Set("X-OSS-Magic", "abracadabra")
	got := OSSSignature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", "PUT", h, "/oss-example/nelson")
	want := func() string {
		s := "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson"
		mac := hmac.New(sha1.New, []byte("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV"))
		mac.Write([]byte(s))
		return base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}()
	if got != want || got != "26NBxoKdsyly4EDv6inkoDft/yA=" {
		t.Fatalf("signature %q, recomputed %q, documented 26NBxoKdsyly4EDv6inkoDft/yA=", got, want)
	}
}

func TestOSSObjectURL(t *testing.T) {
	t.Parallel()
	o := &AliyunOSS{OSSConfig: OSSConfig{Endpoint: "oss-cn-hangzhou.aliyuncs.com", Bucket: "b"}}
	if got := o.ObjectURL("2025/01/01/x.png"); got != "https://b.oss-cn-hangzhou.aliyuncs.com/2025/01/01/x.png" {
		t.Fatal(got)
	}
}

func TestAliyunOSSRefusal(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code></Error>`)
	}))
	defer srv.Close()
	o := &AliyunOSS{OSSConfig: OSSConfig{Endpoint: srv.URL, Bucket: "b", AccessKeyID: "i", AccessKeySecret: "s"}, Client: srv.Client()}
	if _, err := o.Upload(context.Background(), testImage, "x.png"); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("%v", err)
	}
}

// rewriteTo sends every request to target's host, keeping the path: the way to test a provider whose
// address is fixed.
type rewriteTo string

func (r rewriteTo) RoundTrip(req *http.Request) (*http.Response, error) {
	c := req.Clone(req.Context())
	c.URL.Scheme = "http"
	c.URL.Host = strings.TrimPrefix(string(r), "http://")
	c.Host = ""
	return http.DefaultTransport.RoundTrip(c)
}
