package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Employee is a МИО employee (сотрудник МИО) of ИС Е-Астана's staff: who may draft, sign and refuse in the
// working cabinet.
type Employee struct {
	IIN, Name, Position string
}

// Errors of the cases and the staff.
var (
	// ErrNotStaff: no employee of the staff has this IIN, or the employee is no longer active.
	ErrNotStaff = errors.New("eastana: not a МИО employee of ИС Е-Астана")
	// ErrInactive is ErrNotStaff for an employee switched off.
	ErrInactive = fmt.Errorf("%w (switched off)", ErrNotStaff)
	// ErrNoCase: no application has this id.
	ErrNoCase = errors.New("eastana: no such application")
)

// PutEmployee adds a member of the staff, or updates one (and makes them active again).
func (in *Intake) PutEmployee(ctx context.Context, e Employee) error {
	if e.IIN == "" || strings.TrimSpace(e.Name) == "" {
		return errors.New("eastana: an employee needs an IIN and a name")
	}
	_, err := in.DB.Exec(ctx, `INSERT INTO employees (iin, name, position, active) VALUES ($1, $2, $3, true)
		ON CONFLICT (iin) DO UPDATE SET name = excluded.name, position = excluded.position, active = true`, e.IIN, e.Name, e.Position)
	return err
}

// SetActive switches an employee on or off (an employee who left keeps their signed documents).
func (in *Intake) SetActive(ctx context.Context, iin string, active bool) error {
	tag, err := in.DB.Exec(ctx, `UPDATE employees SET active = $2 WHERE iin = $1`, iin, active)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("%w: %s", ErrNotStaff, iin)
	}
	return err
}

// Employee is the active employee with this IIN; ErrNotStaff when there is none (ErrInactive when they
// are switched off).
func (in *Intake) Employee(ctx context.Context, iin string) (Employee, error) {
	var e Employee
	var active bool
	err := in.DB.QueryRow(ctx, `SELECT iin, name, position, active FROM employees WHERE iin = $1`, iin).Scan(&e.IIN, &e.Name, &e.Position, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Employee{}, ErrNotStaff
	case err != nil:
		return Employee{}, err
	case !active:
		return Employee{}, ErrInactive
	}
	return e, nil
}

// staff is the acting employee as the staff register has them, or the DecisionError to show.
func (in *Intake) staff(ctx context.Context, e Employee) (Employee, error) {
	got, err := in.Employee(ctx, e.IIN)
	switch {
	case errors.Is(err, ErrInactive):
		return Employee{}, errInactive
	case errors.Is(err, ErrNotStaff):
		return Employee{}, errNotStaff
	}
	return got, err
}
