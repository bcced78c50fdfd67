// Package schema holds РШЭП's migrations: one ordered set for the service's schema, shared by the
// packages that own its tables (cases, timers, engine, arm).
package schema

import (
	"embed"
	"io/fs"

	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create РШЭП's tables in the service's schema, with the e-mail outbox of its results.
func Migrations() fs.FS { return pgdb.Union(pgdb.Embedded(migrations), mail.Migrations()) }
