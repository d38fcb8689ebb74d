package openapitest

import (
	"fmt"
	"strings"

	verrors "github.com/pb33f/libopenapi-validator/errors"
)

// joinValidation renders validation errors with their schema details.
func joinValidation(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(": " + e.Reason)
		}
		if e.SpecLine > 0 {
			fmt.Fprintf(&b, " (document line %d)", e.SpecLine)
		}
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, " [%s: %s]", s.FieldPath, s.Reason)
		}
	}
	return b.String()
}
