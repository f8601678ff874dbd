package streamspace

import (
	"errors"

	"connectrpc.com/connect"
)

// Error is what every call of the SDK returns on failure, whatever the protocol: the gRPC code
// to switch on and the control plane's message, a sentence a person can act on. It wraps the
// *connect.Error, so errors.As and connect.CodeOf keep working.
type Error struct {
	// Code is the gRPC status code, e.g. connect.CodeNotFound.
	Code connect.Code
	// Message is the server's message without the code prefix.
	Message string
	cause   error
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Unwrap gives the underlying *connect.Error (or context error).
func (e *Error) Unwrap() error { return e.cause }

// CodeName is the code's canonical lower-case name ("not_found", "unauthenticated", …).
func (e *Error) CodeName() string { return e.Code.String() }

// AsError converts any error from a call into an *Error (nil stays nil): connect errors keep
// their code and message, context cancellation becomes canceled or deadline_exceeded.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return &Error{Code: ce.Code(), Message: ce.Message(), cause: err}
	}
	return &Error{Code: connect.CodeOf(err), Message: err.Error(), cause: err}
}

// CodeOf is the gRPC code of err (connect.CodeUnknown for foreign errors, 0 for nil).
func CodeOf(err error) connect.Code {
	if err == nil {
		return 0
	}
	return AsError(err).Code
}
