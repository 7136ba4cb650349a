package sql

import (
	"context"
	"github.com/outpostdb/outpost/kv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ServerVersion is what clients see as server_version: PostgreSQL 15
// compatible, so that drivers pick the right protocol features.
const ServerVersion = "15.0"

// settingDef describes a session setting.
type settingDef struct {
	def        string
	reportable bool // sent as ParameterStatus
	// validate normalizes a new value or rejects it.
	validate func(v string) (string, error)
	// readOnly settings cannot be SET (RESET ALL skips them).
	readOnly bool
}

var settings = map[string]settingDef{
	"server_version":                         {def: ServerVersion, reportable: true, validate: readOnly("server_version"), readOnly: true},
	"server_version_num":                     {def: "150000", validate: readOnly("server_version_num"), readOnly: true},
	"server_encoding":                        {def: "UTF8", reportable: true, validate: readOnly("server_encoding"), readOnly: true},
	"client_encoding":                        {def: "UTF8", reportable: true, validate: validateEncoding},
	"datestyle":                              {def: "ISO, MDY", reportable: true, validate: validateDateStyle},
	"intervalstyle":                          {def: "postgres", reportable: true},
	"timezone":                               {def: "UTC", reportable: true, validate: validateTimeZone},
	"integer_datetimes":                      {def: "on", reportable: true, validate: readOnly("integer_datetimes"), readOnly: true},
	"standard_conforming_strings":            {def: "on", reportable: true},
	"application_name":                       {def: "", reportable: true},
	"is_superuser":                           {def: "on", reportable: true, validate: readOnly("is_superuser"), readOnly: true},
	"session_authorization":                  {def: "root", reportable: true},
	"search_path":                            {def: `"$user", public`},
	"extra_float_digits":                     {def: "1"},
	"statement_timeout":                      {def: "0", validate: validateDuration},
	"lock_timeout":                           {def: "0", validate: validateDuration},
	"idle_in_transaction_session_timeout":    {def: "0", validate: validateDuration},
	"default_transaction_isolation":          {def: "serializable", validate: validateIsolation},
	"transaction_isolation":                  {def: "serializable", validate: validateIsolation},
	"default_transaction_read_only":          {def: "off", reportable: true, validate: validateBool("default_transaction_read_only")},
	"in_hot_standby":                         {def: "off", reportable: true, validate: readOnly("in_hot_standby"), readOnly: true},
	"transaction_read_only":                  {def: "off"},
	"max_identifier_length":                  {def: "63", validate: readOnly("max_identifier_length"), readOnly: true},
	"bytea_output":                           {def: "hex"},
	"client_min_messages":                    {def: "notice"},
	"timezone_abbreviations":                 {def: "Default"},
	"default_transaction_use_follower_reads": {def: "off", validate: validateBool("default_transaction_use_follower_reads")},
	"default_transaction_max_staleness":      {def: "0", validate: validateDuration},
	followerReadWaitVar:                      {def: formatMillis(DefaultFollowerReadWait), validate: validateFollowerReadWait},
	causalityTokenVar:                        {def: "0.0000000000", reportable: true, validate: validateCausalityToken},
	"password_encryption":                    {def: "scram-sha-256", validate: validatePasswordEncryption},
}

func readOnly(name string) func(string) (string, error) {
	return func(string) (string, error) {
		return "", sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter %q cannot be changed", name)
	}
}

func validateEncoding(v string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(v, "-", "")) {
	case "UTF8", "UNICODE":
		return "UTF8", nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"client_encoding\": %q", v).
		WithDetail("Outpost supports only UTF8.")
}

func validateDateStyle(v string) (string, error) {
	u := strings.ToUpper(v)
	if (strings.Contains(u, "ISO") || u == "" || u == "MDY") && !strings.Contains(u, "DMY") && !strings.Contains(u, "YMD") {
		return "ISO, MDY", nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"DateStyle\": %q", v).
		WithDetail("Outpost supports only the ISO date style with MDY field order.")
}

func validateTimeZone(v string) (string, error) {
	if _, err := loadLocation(v); err != nil {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", v)
	}
	return v, nil
}

func loadLocation(v string) (*time.Location, error) {
	switch strings.ToLower(v) {
	case "utc", "gmt", "z", "zulu", "":
		return time.UTC, nil
	case "local":
		return time.Local, nil
	}
	if loc, err := time.LoadLocation(v); err == nil {
		return loc, nil
	}
	// A numeric offset in hours, as SET TIME ZONE 5 means +05.
	if h, err := strconv.ParseFloat(v, 64); err == nil {
		return time.FixedZone(v, int(h*3600)), nil
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unknown time zone %q", v)
}

func validateDuration(v string) (string, error) {
	d, err := parseMillis(v)
	if err != nil {
		return "", err
	}
	return formatMillis(d), nil
}

// formatMillis prints a time setting as PostgreSQL shows it: in the
// largest unit that divides it evenly (1000 → 1s, 90000 → 90s).
func formatMillis(d time.Duration) string {
	ms := d.Milliseconds()
	if ms == 0 {
		return "0"
	}
	for _, u := range []struct {
		n    int64
		name string
	}{{86400000, "d"}, {3600000, "h"}, {60000, "min"}, {1000, "s"}} {
		if ms%u.n == 0 {
			return strconv.FormatInt(ms/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// parseMillis parses PostgreSQL's time settings: a bare number is
// milliseconds; units ms, s, min, h, d are accepted.
func parseMillis(v string) (time.Duration, error) {
	s := strings.TrimSpace(strings.ToLower(v))
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"min", time.Minute}, {"s", time.Second}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	mult := time.Millisecond
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.d
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for a time parameter: %q", v)
	}
	return time.Duration(n * float64(mult)), nil
}

func validateBool(name string) func(string) (string, error) {
	return func(v string) (string, error) {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "on", "true", "yes", "1", "t", "y":
			return "on", nil
		case "off", "false", "no", "0", "f", "n":
			return "off", nil
		}
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "parameter %q requires a Boolean value", name)
	}
}

func validateIsolation(v string) (string, error) {
	switch strings.ToLower(strings.Join(strings.Fields(v), " ")) {
	case "serializable", "repeatable read", "read committed", "read uncommitted", "default":
		// Weaker levels are accepted and run as SERIALIZABLE.
		return strings.ToLower(v), nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"transaction_isolation\": %q", v)
}

// displayNames maps lower-case names to PostgreSQL's spelling in
// ParameterStatus messages.
var displayNames = map[string]string{
	"datestyle": "DateStyle", "intervalstyle": "IntervalStyle", "timezone": "TimeZone",
}

// sessionVars holds the settings of a session.
type sessionVars struct {
	vals    map[string]string
	changed map[string]bool
	loc     *time.Location
	// startup holds the values the startup packet gave: RESET returns
	// to them (PostgreSQL's reset_val), else to the default.
	startup map[string]string
}

func newSessionVars(args SessionArgs) *sessionVars {
	v := &sessionVars{vals: map[string]string{}, changed: map[string]bool{}, loc: time.UTC, startup: map[string]string{}}
	for k, d := range settings {
		v.vals[k] = d.def
	}
	v.vals["session_authorization"] = args.User
	for k, val := range args.Params {
		// Startup parameters behave like SET; bad ones are ignored as
		// PostgreSQL ignores unknown ones only with a warning.
		if v.set(strings.ToLower(k), val) == nil {
			name := normalizeVarName(k)
			v.startup[name] = v.vals[name]
		}
	}
	return v
}

// reset returns a setting to its value at session start (RESET name).
func (v *sessionVars) reset(name string) error {
	name = normalizeVarName(name)
	if val, ok := v.startup[name]; ok {
		return v.set(name, val)
	}
	return v.set(name, "default")
}

// resetAll is RESET ALL: every changeable setting returns to its value at
// session start; read-only ones are left alone.
func (v *sessionVars) resetAll() {
	for _, name := range v.names() {
		if d, ok := settings[name]; ok && d.readOnly {
			continue
		}
		if _, ok := settings[name]; !ok {
			continue
		}
		_ = v.reset(name)
	}
}

func (v *sessionVars) get(name string) (string, bool) {
	name = normalizeVarName(name)
	val, ok := v.vals[name]
	return val, ok
}

func normalizeVarName(name string) string {
	name = strings.ToLower(name)
	switch name {
	case "time zone":
		return "timezone"
	case "transaction isolation level":
		return "transaction_isolation"
	}
	return name
}

func (v *sessionVars) set(name, val string) error {
	name = normalizeVarName(name)
	def, ok := settings[name]
	if !ok {
		if strings.Contains(name, ".") {
			// Custom (extension-style) settings are free-form, as in PG.
			v.vals[name] = val
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	if strings.EqualFold(val, "default") {
		val = def.def
	} else if def.validate != nil {
		nv, err := def.validate(val)
		if err != nil {
			return err
		}
		val = nv
	}
	if name == causalityTokenVar {
		val = maxToken(v.vals[name], val) // the token never decreases
	}
	if name == "timezone" {
		loc, err := loadLocation(val)
		if err != nil {
			return err
		}
		v.loc = loc
	}
	if v.vals[name] != val && def.reportable {
		v.changed[name] = true
	}
	v.vals[name] = val
	return nil
}

func (v *sessionVars) location() *time.Location { return v.loc }

func (v *sessionVars) reportable(changedOnly bool) map[string]string {
	out := map[string]string{}
	for k, d := range settings {
		if !d.reportable || (changedOnly && !v.changed[k]) {
			continue
		}
		name := k
		if dn, ok := displayNames[k]; ok {
			name = dn
		}
		out[name] = v.vals[k]
	}
	v.changed = map[string]bool{}
	return out
}

func (v *sessionVars) names() []string {
	out := make([]string, 0, len(v.vals))
	for k := range v.vals {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// statementContext applies statement_timeout and lock_timeout.
func (v *sessionVars) statementContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if lt, err := parseMillis(v.vals["lock_timeout"]); err == nil && lt > 0 {
		ctx = kv.WithLockTimeout(ctx, lt)
	}
	d, err := parseMillis(v.vals["statement_timeout"])
	if err != nil || d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
