// Package schema holds the ЦОН desk's migrations: its own tables, the shared web sessions and the
// channel's applications.
package schema

import (
	"embed"
	"io/fs"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/webkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create the desk's tables.
func Migrations() fs.FS {
	return pgdb.Union(pgdb.Embedded(migrations), applicant.Migrations(), webkit.Migrations())
}
