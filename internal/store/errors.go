package store

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// transient reports errors after which running the whole transaction again can succeed: deadlocks
// and lock timeouts between concurrent writers.
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001" // deadlock_detected, serialization_failure
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		primary := se.Code() & 0xff // extended result codes carry the primary code in the low byte
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	return false
}

func isDuplicateKey(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062 // ER_DUP_ENTRY
}

// alreadyThere reports a migration statement that failed only because its column or index exists.
// Adopted Gemini Balance databases and forks may already have a column a migration adds, SQLite and
// MySQL have no ADD COLUMN IF NOT EXISTS, and a MySQL migration interrupted half-way (its DDL is not
// transactional) runs again from its first statement. PostgreSQL migrations use IF NOT EXISTS instead:
// there a failed statement would abort the transaction.
func alreadyThere(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1060 || me.Number == 1061 // ER_DUP_FIELDNAME, ER_DUP_KEYNAME
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return strings.Contains(se.Error(), "duplicate column name")
	}
	return false
}
