package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Defaults of the global settings.
const (
	defaultServer  = "http://127.0.0.1:8080"
	defaultOutput  = outputTable
	defaultTimeout = 30 * time.Second
)

// globalFlags are bound to the root's persistent flags.
type globalFlags struct {
	server     string
	token      string
	output     outputFormat
	timeout    time.Duration
	configPath string
}

// settings are the global flags after precedence: flag > environment >
// config file > default.
type settings struct {
	server     string
	token      string
	output     outputFormat
	outputSet  bool // -o given on the command line (export has its own default)
	timeout    time.Duration
	timeoutSet bool // --timeout given on the command line
}

// fileConfig is ~/.config/unet/unetctl.yaml.
type fileConfig struct {
	Server string `yaml:"server"`
	Token  string `yaml:"token"`
	Output string `yaml:"output"`
}

func (a *app) addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.flags.server, "server", defaultServer, "collector URL (env UNET_SERVER)")
	f.StringVar(&a.flags.token, "token", "", "API token, sent as a bearer token (env UNET_TOKEN)")
	a.flags.output = defaultOutput
	f.VarP(&enumValue[outputFormat]{dst: &a.flags.output, parse: parseOutputFormat, typ: "format"},
		"output", "o", "output format: table, json, yaml or csv (env UNET_OUTPUT)")
	f.DurationVar(&a.flags.timeout, "timeout", defaultTimeout, "give up on a request after this long (0: never)")
	f.StringVar(&a.flags.configPath, "config", "", "config file (env UNET_CONFIG; default ~/.config/unet/unetctl.yaml)")
	_ = root.RegisterFlagCompletionFunc("output", enumCompletion(outputFormats()))
}

// settings resolves the global settings once per run.
func (a *app) settings() (*settings, error) {
	if a.conf != nil {
		return a.conf, nil
	}
	file, path, err := a.loadConfigFile()
	if err != nil {
		return nil, err
	}
	pf := a.root.PersistentFlags()
	s := &settings{
		server:     pick(pf.Changed("server"), a.flags.server, a.getenv("UNET_SERVER"), file.Server, defaultServer),
		token:      pick(pf.Changed("token"), a.flags.token, a.getenv("UNET_TOKEN"), file.Token, ""),
		output:     a.flags.output,
		outputSet:  pf.Changed("output"),
		timeout:    a.flags.timeout,
		timeoutSet: pf.Changed("timeout"),
	}
	if !s.outputSet {
		if s.output, err = a.outputFromEnvOrFile(file, path); err != nil {
			return nil, err
		}
	}
	a.conf = s
	return s, nil
}

func (a *app) outputFromEnvOrFile(file fileConfig, path string) (outputFormat, error) {
	if v := a.getenv("UNET_OUTPUT"); v != "" {
		o, err := parseOutputFormat(v)
		if err != nil {
			return "", fmt.Errorf("UNET_OUTPUT: %w", err)
		}
		return o, nil
	}
	if file.Output != "" {
		o, err := parseOutputFormat(file.Output)
		if err != nil {
			return "", fmt.Errorf("config file %s: output: %w", path, err)
		}
		return o, nil
	}
	return defaultOutput, nil
}

// pick applies the precedence flag > environment > file > default.
func pick(flagSet bool, flagVal, envVal, fileVal, def string) string {
	switch {
	case flagSet:
		return flagVal
	case envVal != "":
		return envVal
	case fileVal != "":
		return fileVal
	default:
		return def
	}
}

// configPath is where the config file is: --config, UNET_CONFIG, else the
// user's config directory. explicit says whether the user named it (then it
// must exist).
func (a *app) configPath() (path string, explicit bool) {
	if a.flags.configPath != "" {
		return a.flags.configPath, true
	}
	if p := a.getenv("UNET_CONFIG"); p != "" {
		return p, true
	}
	if d := a.getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "unet", "unetctl.yaml"), false
	}
	if h := a.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "unet", "unetctl.yaml"), false
	}
	return "", false
}

// loadConfigFile reads the config file; a missing default file is no
// error, a missing file the user named is.
func (a *app) loadConfigFile() (c fileConfig, path string, err error) {
	path, explicit := a.configPath()
	if path == "" {
		return c, path, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, path, nil
	}
	if err != nil {
		return c, path, fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key should not be silently ignored
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, path, fmt.Errorf("config file %s: %v (keys: server, token, output)", path, err)
	}
	return c, path, nil
}
