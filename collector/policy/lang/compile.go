package lang

import (
	"errors"
	"os"
	"slices"
)

// Compile parses and checks a set of policy files given by name, in name
// order (rule order, and with it the module's rule numbers, must not
// depend on map order). Errors of every file are reported together.
func Compile(sources map[string][]byte) (*Program, error) {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs Diagnostics
	files := make([]*File, 0, len(names))
	for _, name := range names {
		f, err := Parse(name, sources[name])
		files = append(files, f)
		errs = appendDiagnostics(errs, err)
	}
	p, err := Check(files...)
	errs = appendDiagnostics(errs, err)
	if err := errs.err(fileNames(files)); err != nil {
		return nil, err
	}
	return p, nil
}

// CompileFiles reads, parses and checks policy files, in the order given.
// The file names in diagnostics are the paths as given.
func CompileFiles(paths ...string) (*Program, error) {
	var errs Diagnostics
	files := make([]*File, 0, len(paths))
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := Parse(path, src)
		files = append(files, f)
		errs = appendDiagnostics(errs, err)
	}
	p, err := Check(files...)
	errs = appendDiagnostics(errs, err)
	if err := errs.err(fileNames(files)); err != nil {
		return nil, err
	}
	return p, nil
}

func appendDiagnostics(ds Diagnostics, err error) Diagnostics {
	var more Diagnostics
	if errors.As(err, &more) {
		return append(ds, more...)
	}
	return ds
}
