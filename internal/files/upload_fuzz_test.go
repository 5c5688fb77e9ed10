package files

import (
	"net/url"
	"testing"
)

// FuzzUploadMetadata feeds the start of an upload: the client's metadata and the upload URL Google
// answers with. No panic, and no key ever survives into the path gemgate continues the upload at.
func FuzzUploadMetadata(f *testing.F) {
	f.Add([]byte(`{"file":{"displayName":"a.png"}}`), "https://g.example/upload/v1beta/files?upload_id=abc&upload_protocol=resumable")
	f.Add([]byte(`{"display_name":"x"}`), "/upload?key=AIzaSySecret&upload_id=1&key=2")
	f.Add([]byte(`{"file":null}`), "%zz")
	f.Fuzz(func(t *testing.T, meta []byte, uploadURL string) {
		_ = displayName(meta)
		id, path, err := sessionPath(uploadURL)
		if err != nil {
			return
		}
		u, perr := url.Parse(path)
		if id == "" || perr != nil || u.Query().Has("key") || u.Query().Get("upload_id") != id {
			t.Fatalf("%q -> id %q, path %q (%v): the key must go, the upload id stay", uploadURL, id, path, perr)
		}
	})
}
