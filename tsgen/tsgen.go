// Package tsgen generates TypeScript declarations for walrelay's models
// from the live schema: one interface per model with the row exactly as
// walrelay sends it (docs/types.md), one for inserts, unions for enums, and
// a module augmentation that types the @walrelay/client SDK
// (useList('Message') returns Message[]).
//
// Naming: a model's row type is the model name (Message), its insert type
// the model name plus "Insert" (MessageInsert). An enum type is named after
// the Postgres type in PascalCase (mood -> Mood, user_status -> UserStatus),
// prefixed with the schema when it is not public (audit.level ->
// AuditLevel). A name that collides with another gets a number appended.
package tsgen

import (
	"context"

	"github.com/walrelay/walrelay"
)

// Options tune the output.
type Options struct {
	// Source names the config file in the generated header.
	Source string
}

// Generate returns the TypeScript declarations for models, which must
// have been resolved against the database with store.LoadModels. It reads
// enum labels, domain base types, array element types and declared array
// dimensions from q's catalog. Hidden columns are left out everywhere;
// generated and identity-always columns are left out of insert types. The
// output is deterministic for a given schema and config. Generate keeps
// no state and may be called concurrently.
func Generate(ctx context.Context, q Querier, models []*walrelay.Model, opts Options) ([]byte, error) {
	cat, err := loadCatalog(ctx, q, models)
	if err != nil {
		return nil, err
	}
	return render(models, cat, opts), nil
}
