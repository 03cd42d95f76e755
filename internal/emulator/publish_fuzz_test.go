package emulator

import (
	"archive/zip"
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"testing"
	"time"
)

// fuzzZip and fuzzMultipart build seeds; the helpers of publish_test.go
// take a *testing.T, which a fuzz seed has not.
func fuzzZip(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(body))
	}
	_ = zw.Close()
	return buf.Bytes()
}

func fuzzMultipart(zipBytes []byte, appRequest string) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range []struct {
		name, ctype string
		body        []byte
	}{{"metadata", "application/zip", zipBytes}, {"app_request", "application/json", []byte(appRequest)}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="blob"`)
		h.Set("Content-Type", p.ctype)
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(p.body)
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// FuzzPublishParser feeds arbitrary bodies to the publish route's
// multipart and zip parsers (the emulator faces the real Heroku CLI and
// hand-made requests): they must never panic, and every refusal must be an
// *errPublish, which the route turns into a 400, 413 or 422 body.
func FuzzPublishParser(f *testing.F) {
	good := fuzzZip(map[string]string{"api-spec.yaml": goodSpec, "connectedapp-meta.xml": "<x/>"})
	two := fuzzZip(map[string]string{"api-spec.yaml": goodSpec, "api-spec.json": "{}"})
	for _, c := range []struct {
		zip []byte
		req string
	}{{good, `{"client_name":"AcmeAPI"}`}, {two, `{"client_name":"AcmeAPI"}`}, {[]byte("PK\x03\x04not a zip"), `{"client_name":"x"}`}, {good, `[]`}, {good, `{"client_name":" "}`}} {
		body, ct := fuzzMultipart(c.zip, c.req)
		f.Add(body, ct)
	}
	f.Add(good, "application/zip")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\nPK\r\n--x--\r\n"), "multipart/form-data; boundary=x")
	f.Add([]byte{}, "text/plain")
	f.Add(good, "multipart/form-data")
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		// A hang would stall the fuzzer silently; crashing the worker makes
		// the engine keep the input under testdata/fuzz.
		timer := time.AfterFunc(10*time.Second, func() { panic("the publish parsers did not return within 10s") })
		defer timer.Stop()
		r := httptest.NewRequest(http.MethodPost, "/addons/a/connections/c/publications", bytes.NewReader(data))
		r.Header.Set("Content-Type", contentType)
		zipBytes, _, err := readPublish(httptest.NewRecorder(), r)
		var pe *errPublish
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("readPublish refusal %T %q is not an *errPublish", err, err)
		}
		// The zip reader gets the metadata part, and the raw bytes as a zip.
		for _, z := range [][]byte{zipBytes, data} {
			if z == nil {
				continue
			}
			u, err := unzipMetadata(z)
			if err != nil {
				if !errors.As(err, &pe) {
					t.Fatalf("unzipMetadata refusal %T %q is not an *errPublish", err, err)
				}
				continue
			}
			if u.spec == nil || u.specName == "" {
				t.Fatal("accepted a zip without its spec")
			}
		}
	})
}
