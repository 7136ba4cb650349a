package builtins

import "github.com/outpostdb/outpost/sql/types"

// The session's identity. Outpost has no SET ROLE or SET SESSION
// AUTHORIZATION, so current_user, current_role, user and session_user
// are all the authenticated user.
func init() {
	user := func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		if ctx == nil {
			return types.Null, nil
		}
		return types.DString(ctx.User), nil
	}
	for _, name := range []string{"current_user", "session_user", "current_role", "user"} {
		def(name, nil, types.Name, user, stable)
	}
}
