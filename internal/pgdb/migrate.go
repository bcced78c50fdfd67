package pgdb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads files named "<version>_<name>.sql" (e.g. "0001_certificates.sql") from fsys.
// Versions must be unique and positive.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("pgdb: migrations: %w", err)
	}
	var ms []Migration
	seen := make(map[int]string)
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgdb: migration %s: name must be <version>_<name>.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("pgdb: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("pgdb: migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate creates schema if needed and applies the migrations in fsys that it has not applied yet, each
// in its own transaction with search_path set to schema. Concurrent callers (replicas starting at once)
// are serialised by an advisory lock, so each migration runs once. Applying again is a no-op.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) (applied int, err error) {
	if !schemaName.MatchString(schema) {
		return 0, fmt.Errorf("pgdb: schema name %q: want lower-case letters, digits and '_'", schema)
	}
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgdb: migrate %s: %w", schema, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext('egov.migrate.' || $1))", schema); err != nil {
		return 0, fmt.Errorf("pgdb: migrate %s: lock: %w", schema, err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('egov.migrate.' || $1))", schema)
	}()

	id := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+id+`;
		CREATE TABLE IF NOT EXISTS `+id+`.schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
		return 0, fmt.Errorf("pgdb: migrate %s: %w", schema, err)
	}
	done := make(map[int]bool)
	rows, err := conn.Query(ctx, "SELECT version FROM "+id+".schema_migrations")
	if err != nil {
		return 0, fmt.Errorf("pgdb: migrate %s: %w", schema, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("pgdb: migrate %s: %w", schema, err)
	}
	for _, v := range versions {
		done[v] = true
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+id+".schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("pgdb: migrate %s: %04d_%s: %w", schema, m.Version, m.Name, err)
		}
		applied++
	}
	return applied, nil
}

// Embedded returns the "migrations" folder of a service's embedded files, where its NNNN_name.sql files
// live (each service embeds migrations/*.sql and hands the result to Migrate).
func Embedded(efs embed.FS) fs.FS {
	sub, err := fs.Sub(efs, "migrations")
	if err != nil {
		panic(err) // fs.Sub fails only on an invalid path, and "migrations" is valid
	}
	return sub
}

// Union joins migration folders: a service's own and those of shared packages whose tables it holds
// (the web sessions, the applications of a channel). Their versions must not collide; LoadMigrations
// says so when they do.
func Union(fss ...fs.FS) fs.FS { return union(fss) }

type union []fs.FS

func (u union) Open(name string) (fs.File, error) {
	for _, f := range u {
		if file, err := f.Open(name); err == nil {
			return file, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (u union) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for _, f := range u {
		es, err := fs.ReadDir(f, name)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}
