// Package schema holds ИС Е-Астана's migrations: its own tables and the shared web sessions of its two
// cabinets (the citizen's personal cabinet and the МИО employees' working cabinet).
package schema

import (
	"embed"
	"io/fs"

	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/webkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create ИС Е-Астана's tables in the service's schema.
func Migrations() fs.FS {
	return pgdb.Union(pgdb.Embedded(migrations), webkit.Migrations(), mail.Migrations())
}
