// Package config loads a daemon's configuration in the order every μNet
// binary uses: defaults, then a YAML file, then UNET_* environment
// variables; command-line flags are applied last by the caller.
//
// Environment names follow the YAML path: the key `etcd: {endpoints: …}`
// is UNET_ETCD_ENDPOINTS. Lists are comma-separated in the environment.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Load fills dst (a pointer to a struct with yaml tags, already holding the
// defaults) from the YAML file at path (skipped when path is "") and then
// from the environment, read through getenv (os.Getenv in production).
// Unknown YAML keys are errors: a typo must not silently keep a default.
func Load(path string, dst any, getenv func(string) string) error {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) /* an empty file sets nothing */ {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	return walk(reflect.ValueOf(dst).Elem(), "UNET", func(name string, v reflect.Value) error {
		s := getenv(name)
		if s == "" {
			return nil
		}
		if err := setFromString(v, s); err != nil {
			return fmt.Errorf("environment %s=%q: %w", name, s, err)
		}
		return nil
	})
}

// EnvNames lists the environment variables dst understands, for --help.
func EnvNames(dst any) []string {
	var names []string
	_ = walk(reflect.ValueOf(dst).Elem(), "UNET", func(name string, _ reflect.Value) error {
		names = append(names, name)
		return nil
	})
	return names
}

var durationType = reflect.TypeFor[time.Duration]()

// walk calls fn for every settable leaf field of v with its env name.
func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		name := prefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(tag))
		fv := v.Field(i)
		if fv.Kind() == reflect.Map {
			continue // maps are set in the YAML file only
		}
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			if err := walk(fv, name, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(name, fv); err != nil {
			return err
		}
	}
	return nil
}

// setFromString parses s into v by v's kind.
func setFromString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", v.Type())
		}
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// Resolve fills cfg (a pointer to a struct already holding the defaults)
// in the order every μNet daemon uses: the YAML file at path (or at
// $UNET_CONFIG when path is empty), then the environment, then setFlags,
// which copies the command-line flags the user set.
func Resolve(path string, cfg any, getenv func(string) string, setFlags func()) error {
	if path == "" {
		path = getenv("UNET_CONFIG")
	}
	if err := Load(path, cfg, getenv); err != nil {
		return err
	}
	setFlags()
	return nil
}

// ApplyChanged calls apply[name] for every flag of fs the user set: flags
// win over the file and the environment, but an unset flag, holding its
// default, must not reset them.
func ApplyChanged(fs *pflag.FlagSet, apply map[string]func()) {
	for name, set := range apply {
		if fs.Changed(name) {
			set()
		}
	}
}
