package lang

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors/*.golden")

// TestErrorsGolden compiles each testdata/errors/NAME.unet and compares
// the rendered diagnostics (FILE:LINE:COL lines with the source line and a
// caret) with NAME.golden.
func TestErrorsGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.unet")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no error cases: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(map[string][]byte{name: src})
			var ds Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("Compile(%s) = %v, want Diagnostics", name, err)
			}
			got := []byte(ds.Render(func(file string) []byte {
				if file == name {
					return src
				}
				return nil
			}))
			golden := strings.TrimSuffix(path, ".unet") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run ErrorsGolden -update creates it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("diagnostics differ from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	src := []byte("WHEN a\n\tWHEN μ b\r\nlast")
	ds := Diagnostics{
		{Pos{"f", 2, 2}, "after a tab"},
		{Pos{"f", 2, 10}, "after a two-byte character"},
		{Pos{"f", 3, 5}, "at the end of the file"},
		{Pos{"f", 9, 1}, "past the end"},
		{Pos{"g", 1, 1}, "unknown file"},
	}
	want := "f:2:2: after a tab\n    \tWHEN μ b\n    \t^\n" +
		"f:2:10: after a two-byte character\n    \tWHEN μ b\n    \t       ^\n" +
		"f:3:5: at the end of the file\n    last\n        ^\n" +
		"f:9:1: past the end\n" +
		"g:1:1: unknown file\n"
	got := ds.Render(func(file string) []byte {
		if file == "f" {
			return src
		}
		return nil
	})
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if ds.Error() != "f:2:2: after a tab\nf:2:10: after a two-byte character\nf:3:5: at the end of the file\nf:9:1: past the end\ng:1:1: unknown file" {
		t.Errorf("Error() = %q", ds.Error())
	}
}
