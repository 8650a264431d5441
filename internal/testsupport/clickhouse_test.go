package testsupport

import (
	"io"
	"net/url"
	"strings"
	"testing"
)

func TestClickHouseAnswersAndRestarts(t *testing.T) {
	s := StartClickHouse(t)
	query := func() (string, error) {
		resp, err := noKeepAlive().Get("http://" + s.HTTPAddr + "/?query=" + url.QueryEscape("SELECT timezone()"))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b)), err
	}
	for _, step := range []string{"first start", "after restart"} {
		got, err := query()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		// The project's config pins UTC (18.16 says Etc/UTC).
		if !strings.HasSuffix(got, "UTC") {
			t.Fatalf("%s: timezone() = %q, want UTC", step, got)
		}
		s.Stop()
		if _, err := query(); err == nil {
			t.Fatalf("%s: server still answers after Stop", step)
		}
		s.Start()
	}
}
