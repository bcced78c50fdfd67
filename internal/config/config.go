// Package config reads typed configuration from the environment, with defaults, and prints it with
// secrets masked. Every service declares its own struct; the platform's part is Platform.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Secret is a string that never prints: fmt, slog and JSON all see "****".
type Secret string

const masked = "****"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue masks the secret in log lines.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret in JSON and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// URL is a connection URL whose password never prints.
type URL string

// Value returns the URL itself.
func (u URL) Value() string { return string(u) }

// String returns the URL with any password replaced by "****".
func (u URL) String() string { return RedactURL(string(u)) }

// GoString redacts the URL for %#v.
func (u URL) GoString() string { return u.String() }

// LogValue redacts the URL in log lines.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText redacts the URL in JSON and text encodings.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// RedactURL hides the password of a URL ("postgres://u:p@h/db") or of a libpq key/value string
// ("host=h password=p"). A string that parses as neither comes back unchanged.
func RedactURL(s string) string {
	if strings.Contains(s, "://") {
		p, err := url.Parse(s)
		if err != nil {
			return masked
		}
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
			return strings.Replace(p.String(), "xxxxx", masked, 1)
		}
		return s
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if k, _, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") {
			fields[i] = k + "=" + masked
		}
	}
	return strings.Join(fields, " ")
}

// Load fills cfg, a pointer to a struct with `env` tags, from the environment (or from environ when it
// is not nil). Errors name the variable and the problem.
func Load(cfg any, environ map[string]string) error {
	opts := env.Options{}
	if environ != nil {
		opts.Environment = environ
	}
	err := env.ParseWithOptions(cfg, opts)
	if err == nil {
		return nil
	}
	// The parser names struct fields; people set variables. Say which variable is wrong.
	vars := make(map[string]string)
	for _, l := range describe(reflect.ValueOf(cfg), "") {
		name, _, _ := strings.Cut(l, "=")
		vars[fieldOf(reflect.ValueOf(cfg), name)] = name
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && vars[pe.Name] != "" {
			errs = append(errs, fmt.Errorf("config: %s: %w", vars[pe.Name], pe.Err))
			continue
		}
		errs = append(errs, fmt.Errorf("config: %w", e))
	}
	return errors.Join(errs...)
}

// fieldOf finds the name of the struct field whose env tag is variable.
func fieldOf(v reflect.Value, variable string) string {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name == variable && name != "" {
			return f.Name
		}
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			if n := fieldOf(v.Field(i), variable); n != "" {
				return n
			}
		}
	}
	return ""
}

// Print writes one line per setting, "VARIABLE=value", sorted, with secrets masked.
func Print(w io.Writer, cfgs ...any) error {
	var lines []string
	for _, cfg := range cfgs {
		lines = append(lines, describe(reflect.ValueOf(cfg), "")...)
	}
	sort.Strings(lines)
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

func describe(v reflect.Value, prefix string) []string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if p, ok := f.Tag.Lookup("envPrefix"); ok {
			out = append(out, describe(fv, prefix+p)...)
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				out = append(out, describe(fv, prefix)...)
			}
			continue
		}
		name, _, _ = strings.Cut(name, ",")
		out = append(out, prefix+name+"="+format(fv))
	}
	return out
}

func format(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = format(v.Index(i))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}
