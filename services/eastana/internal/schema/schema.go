// Package schema holds ИС Е-Астана's migrations: one ordered set for the service's schema.
package schema

import (
	"embed"
	"io/fs"

	"github.com/egov-suite/egov/internal/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create ИС Е-Астана's tables in the service's schema.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }
