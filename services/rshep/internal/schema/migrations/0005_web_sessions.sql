-- АРМ sessions become the shared web sessions (internal/webkit): the employee's IIN is the subject,
-- the region the scope.
ALTER TABLE sessions RENAME COLUMN iin TO subject;
ALTER TABLE sessions RENAME COLUMN region TO scope;
