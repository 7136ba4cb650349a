package types

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Time constants. Timestamps are microseconds since 2000-01-01 00:00:00
// (PostgreSQL's epoch) in the binary protocol and in arithmetic here.
const (
	usPerSec  = int64(1000000)
	usPerMin  = 60 * usPerSec
	usPerHour = 60 * usPerMin
	usPerDay  = 24 * usPerHour
	// pgEpochUnix is 2000-01-01 00:00:00 UTC in Unix seconds.
	pgEpochUnix = int64(946684800)
	// unixEpochDays is 1970-01-01 in days since 2000-01-01.
	unixEpochDays = -10957
)

// Ranges, as PostgreSQL's: dates from 4714-11-24 BC to 5874897-12-31 AD,
// timestamps from 4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999.
const (
	MinDate DDate = -2451545   // 4714-11-24 BC (Julian day 0)
	MaxDate DDate = 2145031948 // 5874897-12-31
	// DateNegInf and DatePosInf are '-infinity' and 'infinity'.
	DateNegInf DDate = math.MinInt32
	DatePosInf DDate = math.MaxInt32

	minTimestampMicros = int64(-211813488000000000) // 4714-11-24 00:00:00 BC
	endTimestampMicros = int64(9223371331200000000) // 294277-01-01 00:00:00, exclusive
)

// TimestampPosInf and TimestampNegInf stand for the timestamps 'infinity'
// and '-infinity' (in both DTimestamp and DTimestampTZ). They lie outside
// the range of finite timestamps, so they order correctly as instants.
var (
	TimestampPosInf = microsToTime(math.MaxInt64)
	TimestampNegInf = microsToTime(math.MinInt64)
)

// timeToMicros returns t as microseconds since 2000-01-01 UTC (truncating
// sub-microsecond parts). The infinity sentinels map to MaxInt64/MinInt64.
func timeToMicros(t time.Time) int64 {
	if t.Equal(TimestampPosInf) {
		return math.MaxInt64
	}
	if t.Equal(TimestampNegInf) {
		return math.MinInt64
	}
	return (t.Unix()-pgEpochUnix)*usPerSec + int64(t.Nanosecond()/1000)
}

// microsToTime is the inverse of timeToMicros; the result is in UTC.
func microsToTime(us int64) time.Time {
	sec := floorDiv(us, usPerSec)
	rem := us - sec*usPerSec
	return time.Unix(sec+pgEpochUnix, rem*1000).UTC()
}

// TimeToMicros returns t as microseconds since 2000-01-01 00:00:00 UTC
// (PostgreSQL's internal timestamp form); ±infinity map to
// MaxInt64/MinInt64.
func TimeToMicros(t time.Time) int64 { return timeToMicros(t) }

// MicrosToTime is the inverse of TimeToMicros.
func MicrosToTime(us int64) time.Time { return microsToTime(us) }

// timestampMicrosValid reports whether us is a finite timestamp in range.
func timestampMicrosValid(us int64) bool {
	return us >= minTimestampMicros && us < endTimestampMicros
}

// IsInfinite reports whether the timestamp is ±infinity.
func (d DTimestamp) IsInfinite() bool { return isInfTime(d.Time) }

// IsInfinite reports whether the timestamp is ±infinity.
func (d DTimestampTZ) IsInfinite() bool { return isInfTime(d.Time) }

// IsInfinite reports whether the date is ±infinity.
func (d DDate) IsInfinite() bool { return d == DatePosInf || d == DateNegInf }

func isInfTime(t time.Time) bool {
	return t.Equal(TimestampPosInf) || t.Equal(TimestampNegInf)
}

// MakeTimestampFromMicros returns the timestamp (without time zone) at us
// microseconds since 2000-01-01, or a 22008 error if out of range.
func MakeTimestampFromMicros(us int64) (DTimestamp, error) {
	if us == math.MaxInt64 || us == math.MinInt64 {
		return DTimestamp{Time: microsToTime(us)}, nil
	}
	if !timestampMicrosValid(us) {
		return DTimestamp{}, errTimestampOutOfRange()
	}
	return DTimestamp{Time: microsToTime(us)}, nil
}

// MakeTimestampTZFromMicros is MakeTimestampFromMicros for timestamptz.
func MakeTimestampTZFromMicros(us int64) (DTimestampTZ, error) {
	ts, err := MakeTimestampFromMicros(us)
	return DTimestampTZ(ts), err
}

func errTimestampOutOfRange() error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range")
}

func errDateOutOfRange() error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range")
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysFromCivil returns the days since 2000-01-01 of the proleptic
// Gregorian date y-m-d (astronomical year numbering: 0 is 1 BC). It is the
// classic era-based algorithm; valid for any int64 year that does not
// overflow.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (int64(m) + 9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468 - 10957 // 719468: 0000-03-01 → 1970-01-01
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(days int64) (y int64, m, d int) {
	z := days + 10957 + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// DaysInMonth returns the number of days of month m of year y
// (astronomical numbering).
func DaysInMonth(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DateFromCivil returns the date y-m-d (astronomical year: 0 is 1 BC) or a
// 22008 error if the fields or the result are out of range.
func DateFromCivil(y int64, m, d int) (DDate, error) {
	if m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m) {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date field value out of range")
	}
	if y < -4713 || y > 5874898 {
		return 0, errDateOutOfRange()
	}
	days := daysFromCivil(y, m, d)
	if days < int64(MinDate) || days > int64(MaxDate) {
		return 0, errDateOutOfRange()
	}
	return DDate(days), nil
}

// Civil returns the date's year (astronomical: 0 is 1 BC), month and day.
// It must not be called on an infinite date.
func (d DDate) Civil() (y int64, m, day int) { return civilFromDays(int64(d)) }

// DateFromTime returns the date of t's wall clock in t's location.
func DateFromTime(t time.Time) DDate {
	y, m, d := t.Date()
	return DDate(daysFromCivil(int64(y), int(m), d))
}

// DateToMicros returns midnight of the finite date d as microseconds since
// 2000-01-01, or an error if that timestamp is out of range.
func DateToMicros(d DDate) (int64, error) {
	switch d {
	case DatePosInf:
		return math.MaxInt64, nil
	case DateNegInf:
		return math.MinInt64, nil
	}
	if int64(d) > endTimestampMicros/usPerDay || int64(d) < minTimestampMicros/usPerDay {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range for timestamp")
	}
	us := int64(d) * usPerDay
	if !timestampMicrosValid(us) {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range for timestamp")
	}
	return us, nil
}

// LocalToUTCMicros converts a wall-clock reading (microseconds since
// 2000-01-01 as if in UTC) in loc to the instant it denotes. A reading that
// does not exist (skipped by a spring-forward transition) uses the offset
// from before the transition, an ambiguous one (repeated by a fall-back
// transition) the offset from after it, as PostgreSQL does.
func LocalToUTCMicros(wall int64, loc *time.Location) int64 {
	if loc == time.UTC || wall == math.MaxInt64 || wall == math.MinInt64 {
		return wall
	}
	early := offsetAt(wall-usPerDay, loc)
	late := offsetAt(wall+usPerDay, loc)
	ue := wall - int64(early)*usPerSec
	ul := wall - int64(late)*usPerSec
	if early == late {
		// No transition near: the common case (and also the right answer
		// if two transitions cancel out, near enough).
		if offsetAt(ue, loc) == early {
			return ue
		}
	}
	okE := offsetAt(ue, loc) == early
	okL := offsetAt(ul, loc) == late
	switch {
	case okL:
		return ul // after the transition, or ambiguous: prefer after
	case okE:
		return ue
	}
	return ue // in a gap: the offset from before
}

// offsetAt returns loc's UTC offset in seconds at the instant us.
func offsetAt(us int64, loc *time.Location) int {
	_, off := microsToTime(us).In(loc).Zone()
	return off
}

// UTCToLocalMicros returns the wall-clock reading in loc of the instant us
// and the zone offset in seconds.
func UTCToLocalMicros(us int64, loc *time.Location) (wall int64, offset int) {
	if loc == time.UTC || us == math.MaxInt64 || us == math.MinInt64 {
		return us, 0
	}
	_, off := microsToTime(us).In(loc).Zone()
	return us + int64(off)*usPerSec, off
}

// appendDate appends the ISO form of the date: YYYY-MM-DD, " BC" for years
// before 1, "infinity"/"-infinity".
func appendDate(b []byte, d DDate) []byte {
	switch d {
	case DatePosInf:
		return append(b, "infinity"...)
	case DateNegInf:
		return append(b, "-infinity"...)
	}
	y, m, day := civilFromDays(int64(d))
	b, bc := appendYMD(b, y, m, day)
	if bc {
		b = append(b, " BC"...)
	}
	return b
}

func appendYMD(b []byte, y int64, m, d int) ([]byte, bool) {
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int64(m), 2)
	b = append(b, '-')
	b = appendPadded(b, int64(d), 2)
	return b, bc
}

func appendPadded(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendClock appends HH:MM:SS[.ffffff] for a time of day or an interval's
// time part (hours may exceed 24); trailing zeros of the fraction are
// dropped. us must be non-negative.
func appendClock(b []byte, us int64) []byte {
	h := us / usPerHour
	us -= h * usPerHour
	mi := us / usPerMin
	us -= mi * usPerMin
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, mi, 2)
	b = append(b, ':')
	return appendSeconds(b, us)
}

// appendSeconds appends SS[.ffffff] for us < 1 minute... or more.
func appendSeconds(b []byte, us int64) []byte {
	s := us / usPerSec
	frac := us - s*usPerSec
	b = appendPadded(b, s, 2)
	if frac != 0 {
		b = append(b, '.')
		var tmp [6]byte
		for i := 5; i >= 0; i-- {
			tmp[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 6
		for n > 0 && tmp[n-1] == '0' {
			n--
		}
		b = append(b, tmp[:n]...)
	}
	return b
}

// appendTimestampMicros appends a timestamp given as wall-clock
// microseconds; offset (seconds east of UTC) is printed if withZone. BC is
// appended last, as PostgreSQL does.
func appendTimestampMicros(b []byte, us int64, withZone bool, offset int) []byte {
	switch us {
	case math.MaxInt64:
		return append(b, "infinity"...)
	case math.MinInt64:
		return append(b, "-infinity"...)
	}
	days := floorDiv(us, usPerDay)
	tod := us - days*usPerDay
	y, m, d := civilFromDays(days)
	b, bc := appendYMD(b, y, m, d)
	b = append(b, ' ')
	b = appendClock(b, tod)
	if withZone {
		b = appendOffset(b, offset)
	}
	if bc {
		b = append(b, " BC"...)
	}
	return b
}

// appendOffset appends a UTC offset as PostgreSQL prints it: +HH, +HH:MM
// or +HH:MM:SS.
func appendOffset(b []byte, off int) []byte {
	if off < 0 {
		b = append(b, '-')
		off = -off
	} else {
		b = append(b, '+')
	}
	h, mi, s := off/3600, (off/60)%60, off%60
	b = appendPadded(b, int64(h), 2)
	if mi != 0 || s != 0 {
		b = append(b, ':')
		b = appendPadded(b, int64(mi), 2)
	}
	if s != 0 {
		b = append(b, ':')
		b = appendPadded(b, int64(s), 2)
	}
	return b
}

// dtKind says which type a date/time string is parsed for; it names the
// type in error messages and decides whether zones matter.
type dtKind int

const (
	dtDate dtKind = iota
	dtTimestamp
	dtTimestampTZ
)

func (k dtKind) typeName() string {
	switch k {
	case dtDate:
		return "date"
	case dtTimestamp:
		return "timestamp"
	}
	return "timestamp with time zone"
}

// dtResult is a parsed date/time string.
type dtResult struct {
	special string // "", "infinity", "-infinity", "epoch", "now", "today", "tomorrow", "yesterday"
	year    int64
	month   int
	day     int
	hasDate bool
	// timeUS is the time of day in microseconds (may be 24:00:00).
	timeUS  int64
	hasTime bool
	// zone: either a fixed offset or a location.
	hasZone bool
	offset  int // seconds east of UTC
	loc     *time.Location
}

// ParseDate parses PostgreSQL date input (DateStyle ISO, MDY).
func ParseDate(s string, ctx *EvalContext) (DDate, error) {
	r, err := parseDateTime(s, dtDate)
	if err != nil {
		return 0, err
	}
	switch r.special {
	case "infinity":
		return DatePosInf, nil
	case "-infinity":
		return DateNegInf, nil
	case "epoch":
		return DDate(unixEpochDays), nil
	case "now", "today", "tomorrow", "yesterday":
		d := DateFromTime(ctx.TxnTime().In(ctx.Loc()))
		switch r.special {
		case "tomorrow":
			d++
		case "yesterday":
			d--
		}
		return d, nil
	}
	if !r.hasDate {
		return 0, errDTSyntax(s, dtDate)
	}
	d, err := DateFromCivil(r.year, r.month, r.day)
	if err != nil {
		if sqlerr.Convert(err).Message == "date out of range" {
			return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range: \"%s\"", s)
		}
		return 0, errDTRange(s)
	}
	return d, nil
}

// ParseTimestamp parses timestamp without time zone input; a zone in the
// input is ignored, as in PostgreSQL.
func ParseTimestamp(s string, ctx *EvalContext) (DTimestamp, error) {
	us, err := parseTimestampMicros(s, dtTimestamp, ctx)
	if err != nil {
		return DTimestamp{}, err
	}
	return DTimestamp{Time: microsToTime(us)}, nil
}

// ParseTimestampTZ parses timestamp with time zone input; without a zone
// in the input the session time zone (ctx.Loc()) applies.
func ParseTimestampTZ(s string, ctx *EvalContext) (DTimestampTZ, error) {
	us, err := parseTimestampMicros(s, dtTimestampTZ, ctx)
	if err != nil {
		return DTimestampTZ{}, err
	}
	return DTimestampTZ{Time: microsToTime(us)}, nil
}

// parseTimestampMicros returns microseconds since 2000-01-01: the wall
// clock for dtTimestamp, the UTC instant for dtTimestampTZ.
func parseTimestampMicros(s string, kind dtKind, ctx *EvalContext) (int64, error) {
	r, err := parseDateTime(s, kind)
	if err != nil {
		return 0, err
	}
	loc := ctx.Loc()
	switch r.special {
	case "infinity":
		return math.MaxInt64, nil
	case "-infinity":
		return math.MinInt64, nil
	case "epoch":
		return int64(unixEpochDays) * usPerDay, nil
	case "now":
		now := timeToMicros(roundMicro(ctx.TxnTime()))
		if kind == dtTimestamp {
			now, _ = UTCToLocalMicros(now, loc)
		}
		return now, nil
	case "today", "tomorrow", "yesterday":
		d := int64(DateFromTime(ctx.TxnTime().In(loc)))
		switch r.special {
		case "tomorrow":
			d++
		case "yesterday":
			d--
		}
		wall := d * usPerDay
		if kind == dtTimestampTZ {
			return LocalToUTCMicros(wall, loc), nil
		}
		return wall, nil
	}
	if !r.hasDate {
		return 0, errDTSyntax(s, kind)
	}
	if r.month < 1 || r.month > 12 || r.day < 1 || r.day > DaysInMonth(r.year, r.month) {
		return 0, errDTRange(s)
	}
	if r.year < -4713 || r.year > 294277 {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", s)
	}
	wall := daysFromCivil(r.year, r.month, r.day)*usPerDay + r.timeUS
	us := wall
	if kind == dtTimestampTZ {
		switch {
		case r.hasZone && r.loc != nil:
			us = LocalToUTCMicros(wall, r.loc)
		case r.hasZone:
			us = wall - int64(r.offset)*usPerSec
		default:
			us = LocalToUTCMicros(wall, loc)
		}
	}
	if !timestampMicrosValid(us) {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", s)
	}
	return us, nil
}

func errDTSyntax(s string, kind dtKind) error {
	return sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type %s: \"%s\"", kind.typeName(), s)
}

func errDTRange(s string) error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "date/time field value out of range: \"%s\"", s)
}

var monthNames = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
	"october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var weekdayNames = map[string]bool{
	"sun": true, "sunday": true, "mon": true, "monday": true, "tue": true,
	"tues": true, "tuesday": true, "wed": true, "wednesday": true, "thu": true,
	"thur": true, "thurs": true, "thursday": true, "fri": true, "friday": true,
	"sat": true, "saturday": true,
}

// dtField is one lexical field of a date/time string.
type dtField struct {
	kind byte   // 'n' number, 'd' date, 't' time, 'z' numeric zone, 'a' word
	text string // lower-cased, except for 'a' (original case kept for zone names)
}

// lexDateTime splits a date/time string into fields, in the spirit of
// PostgreSQL's ParseDateTime.
func lexDateTime(s string) ([]dtField, bool) {
	var fs []dtField
	i := 0
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isAlpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
		case isDigit(c):
			start := i
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			if i < len(s) && s[i] == ':' {
				for i < len(s) && (isDigit(s[i]) || s[i] == ':' || s[i] == '.') {
					i++
				}
				fs = append(fs, dtField{'t', s[start:i]})
				continue
			}
			if i+1 < len(s) && (s[i] == '-' || s[i] == '/' || s[i] == '.') && (isDigit(s[i+1]) || isAlpha(s[i+1])) {
				sep := s[i]
				if sep == '.' {
					// "12.5" is a number; "2024.01.31" a date.
					j := i + 1
					for j < len(s) && isDigit(s[j]) {
						j++
					}
					if j >= len(s) || s[j] != '.' {
						fs = append(fs, dtField{'n', s[start:j]})
						i = j
						continue
					}
				}
				for i < len(s) && (isDigit(s[i]) || isAlpha(s[i]) || s[i] == sep) {
					// ISO 8601 "T" between date and time.
					if (s[i] == 'T' || s[i] == 't') && i+1 < len(s) && isDigit(s[i+1]) && sep == '-' {
						break
					}
					i++
				}
				fs = append(fs, dtField{'d', strings.ToLower(s[start:i])})
				if i < len(s) && (s[i] == 'T' || s[i] == 't') {
					i++
				}
				continue
			}
			if i < len(s) && s[i] == '.' { // 12.5
				i++
				for i < len(s) && isDigit(s[i]) {
					i++
				}
			}
			fs = append(fs, dtField{'n', s[start:i]})
			if i < len(s) && (s[i] == 'T' || s[i] == 't') && i+1 < len(s) && isDigit(s[i+1]) {
				i++ // 20240131T123456
			}
		case c == '+' || c == '-':
			start := i
			i++
			if i < len(s) && isDigit(s[i]) {
				for i < len(s) && (isDigit(s[i]) || s[i] == ':' || s[i] == '.') {
					i++
				}
				fs = append(fs, dtField{'z', s[start:i]})
				continue
			}
			for i < len(s) && (isAlpha(s[i])) {
				i++
			}
			if i == start+1 {
				return nil, false
			}
			fs = append(fs, dtField{'a', s[start:i]})
		case isAlpha(c):
			start := i
			for i < len(s) && (isAlpha(s[i]) || s[i] == '/' || s[i] == '_' || (i > start && strings.ContainsRune(s[start:i], '/') && (isDigit(s[i]) || s[i] == '+' || s[i] == '-'))) {
				i++
			}
			fs = append(fs, dtField{'a', s[start:i]})
		default:
			return nil, false
		}
	}
	return fs, true
}

// locCache maps lower-cased zone names to locations; its size is bounded
// by the zone database. locMisses remembers up to maxLocMisses names that
// do not resolve (a miss searches several directories and a zip file).
var (
	locCache     sync.Map
	locMisses    sync.Map
	locMissCount atomic.Int64
)

const maxLocMisses = 1024

// LoadLocation resolves a time zone name as PostgreSQL does for the
// TimeZone setting and zone names in input: case-insensitive IANA names
// (America/New_York, europe/berlin), UTC/GMT/Z, and the zone database's
// fixed abbreviations (EST, MST). It caches hits.
func LoadLocation(name string) (*time.Location, bool) {
	key := strings.ToLower(name)
	if v, ok := locCache.Load(key); ok {
		return v.(*time.Location), true
	}
	if _, ok := locMisses.Load(key); ok {
		return nil, false
	}
	var loc *time.Location
	switch key {
	case "utc", "gmt", "z", "zulu", "etc/utc", "etc/gmt", "universal", "uct":
		loc = time.UTC
	default:
		for _, cand := range []string{name, titleZone(name), strings.ToUpper(name)} {
			if strings.Contains(cand, "..") || strings.HasPrefix(cand, "/") {
				break
			}
			if l, err := time.LoadLocation(cand); err == nil {
				loc = l
				break
			}
		}
	}
	if loc == nil {
		if locMissCount.Add(1) <= maxLocMisses {
			locMisses.Store(key, true)
		}
		return nil, false
	}
	locCache.Store(key, loc)
	return loc, true
}

// titleZone turns "america/new_york" into "America/New_York".
func titleZone(s string) string {
	b := []byte(strings.ToLower(s))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '/' || c == '_' || c == '-'
	}
	return string(b)
}

// parseOffset parses a numeric zone: +HH, +HHMM, +HH:MM, +HH:MM:SS.
func parseOffset(z string) (int, bool) {
	neg := z[0] == '-'
	z = z[1:]
	var h, m, sec int
	var err error
	parts := strings.Split(z, ":")
	switch {
	case len(parts) == 1 && len(z) <= 2:
		h, err = strconv.Atoi(z)
	case len(parts) == 1 && len(z) == 4:
		h, err = strconv.Atoi(z[:2])
		if err == nil {
			m, err = strconv.Atoi(z[2:])
		}
	case len(parts) == 1 && len(z) == 6:
		h, err = strconv.Atoi(z[:2])
		if err == nil {
			m, err = strconv.Atoi(z[2:4])
		}
		if err == nil {
			sec, err = strconv.Atoi(z[4:])
		}
	case len(parts) == 2 || len(parts) == 3:
		h, err = strconv.Atoi(parts[0])
		if err == nil {
			m, err = strconv.Atoi(parts[1])
		}
		if err == nil && len(parts) == 3 {
			sec, err = strconv.Atoi(parts[2])
		}
	default:
		return 0, false
	}
	if err != nil || h > 15 || m > 59 || sec > 59 {
		return 0, false
	}
	off := h*3600 + m*60 + sec
	if neg {
		off = -off
	}
	return off, true
}

// parseClock parses H:M[:S[.frac]] into microseconds, checking ranges
// (24:00:00 is allowed; a leap second 60 carries, as PostgreSQL).
func parseClock(t string) (int64, bool, bool) {
	parts := strings.Split(t, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || len(parts[0]) > 9 {
		return 0, false, false
	}
	var secUS int64
	if len(parts) == 3 {
		v, ok := parseSecondsUS(parts[2])
		if !ok {
			return 0, false, false
		}
		secUS = v
	} else if strings.Contains(parts[1], ".") {
		return 0, false, false
	}
	if h < 0 || h > 24 || m < 0 || m > 59 || secUS < 0 || secUS > 60*usPerSec ||
		(h == 24 && (m != 0 || secUS != 0)) {
		return 0, true, false
	}
	return int64(h)*usPerHour + int64(m)*usPerMin + secUS, true, true
}

// parseSecondsUS parses SS[.frac] into microseconds, rounding the fraction
// half up at the microsecond.
func parseSecondsUS(s string) (int64, bool) {
	ip, fp, hasFrac := strings.Cut(s, ".")
	if ip == "" && !hasFrac || len(ip) > 9 {
		return 0, false
	}
	var sec int64
	for _, c := range []byte(ip) {
		if c < '0' || c > '9' {
			return 0, false
		}
		sec = sec*10 + int64(c-'0')
	}
	us, ok := parseFracUS(fp)
	if !ok {
		return 0, false
	}
	return sec*usPerSec + us, true
}

// parseFracUS parses the digits after a decimal point as microseconds.
// Like PostgreSQL it reads them as a double and rounds with rint() (so
// .1234565, just below the half in binary, gives 123456).
func parseFracUS(fp string) (int64, bool) {
	if fp == "" {
		return 0, true
	}
	for _, c := range []byte(fp) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat("0."+fp, 64)
	if err != nil {
		return 0, false
	}
	return int64(math.RoundToEven(f * 1e6)), true
}

// parseDateTime decodes a date/time string into its parts.
func parseDateTime(s string, kind dtKind) (dtResult, error) {
	var r dtResult
	trimmed := strings.ToLower(strings.TrimSpace(s))
	switch trimmed {
	case "infinity", "+infinity", "-infinity", "epoch", "now", "today", "tomorrow", "yesterday":
		r.special = strings.TrimPrefix(trimmed, "+")
		return r, nil
	}
	fs, ok := lexDateTime(s)
	if !ok || len(fs) == 0 {
		return r, errDTSyntax(s, kind)
	}
	var nums []string // bare numbers, assigned to date parts in order
	bc, ampm := false, 0
	monthFromName := 0
	for fi, f := range fs {
		switch f.kind {
		case 'd':
			if r.hasDate {
				return r, errDTSyntax(s, kind)
			}
			if err := decodeDateField(f.text, &r); err != nil {
				return r, dtErr(err, s, kind)
			}
		case 't':
			if r.hasTime {
				return r, errDTSyntax(s, kind)
			}
			us, okSyntax, okRange := parseClock(f.text)
			if !okSyntax {
				return r, errDTSyntax(s, kind)
			}
			if !okRange {
				return r, errDTRange(s)
			}
			r.timeUS, r.hasTime = us, true
		case 'z':
			if !r.hasTime && !r.hasDate && len(nums) == 0 {
				return r, errDTSyntax(s, kind)
			}
			off, ok := parseOffset(f.text)
			if !ok || r.hasZone {
				return r, errDTSyntax(s, kind)
			}
			r.hasZone, r.offset = true, off
		case 'n':
			if len(f.text) == 8 && !r.hasDate && !strings.Contains(f.text, ".") && fi == 0 {
				// YYYYMMDD
				y, _ := strconv.ParseInt(f.text[:4], 10, 64)
				m, _ := strconv.Atoi(f.text[4:6])
				d, _ := strconv.Atoi(f.text[6:])
				r.year, r.month, r.day, r.hasDate = y, m, d, true
				continue
			}
			if len(f.text) == 6 && r.hasDate && !r.hasTime && !strings.Contains(f.text, ".") {
				// HHMMSS after a date (20240131T123456).
				h, _ := strconv.Atoi(f.text[:2])
				mi, _ := strconv.Atoi(f.text[2:4])
				sec, _ := strconv.Atoi(f.text[4:])
				us, _, okRange := parseClock(strconv.Itoa(h) + ":" + strconv.Itoa(mi) + ":" + strconv.Itoa(sec))
				if !okRange {
					return r, errDTRange(s)
				}
				r.timeUS, r.hasTime = us, true
				continue
			}
			if strings.Contains(f.text, ".") {
				return r, errDTSyntax(s, kind)
			}
			nums = append(nums, f.text)
		case 'a':
			w := strings.ToLower(f.text)
			switch {
			case w == "bc":
				bc = true
			case w == "ad":
			case w == "am":
				ampm = 1
			case w == "pm":
				ampm = 2
			case w == "t" || weekdayNames[w]:
			case monthNames[w] != 0 && monthFromName == 0 && !r.hasDate:
				monthFromName = monthNames[w]
			case w == "z" || w == "utc" || w == "gmt" || w == "zulu":
				if r.hasZone {
					return r, errDTSyntax(s, kind)
				}
				r.hasZone = true
			case strings.HasPrefix(w, "+") || strings.HasPrefix(w, "-"):
				return r, errDTSyntax(s, kind)
			default:
				loc, ok := LoadLocation(f.text)
				if !ok {
					if r.hasDate || r.hasTime || len(nums) > 0 {
						return r, sqlerr.New(sqlerr.InvalidParameterValue, "time zone \"%s\" not recognized", w)
					}
					return r, errDTSyntax(s, kind)
				}
				if r.hasZone {
					return r, errDTSyntax(s, kind)
				}
				r.hasZone, r.loc = true, loc
				if loc == time.UTC {
					r.loc = nil
				}
			}
		}
	}
	// Assign bare numbers to date fields.
	if monthFromName != 0 {
		if r.hasDate || len(nums) != 2 {
			return r, errDTSyntax(s, kind)
		}
		// "Jan 31 2024" or "31 Jan 2024": the number > 31 or with more
		// than 2 digits is the year.
		a, _ := strconv.ParseInt(nums[0], 10, 64)
		b, _ := strconv.ParseInt(nums[1], 10, 64)
		if len(nums[0]) > 2 || a > 31 {
			r.year, r.day = a, int(b)
		} else {
			r.day, r.year = int(a), b
			r.year = adjustYear(r.year, len(nums[1]))
		}
		r.month, r.hasDate = monthFromName, true
		nums = nil
	}
	if len(nums) > 0 {
		return r, errDTSyntax(s, kind)
	}
	if kind == dtDate && r.hasTime && !r.hasDate {
		return r, errDTSyntax(s, kind)
	}
	if ampm != 0 {
		if !r.hasTime || r.timeUS >= 13*usPerHour || r.timeUS < 0 {
			return r, errDTRange(s)
		}
		h := r.timeUS / usPerHour
		switch {
		case ampm == 1 && h == 12:
			r.timeUS -= 12 * usPerHour
		case ampm == 2 && h != 12:
			r.timeUS += 12 * usPerHour
		}
	}
	if bc {
		if r.year <= 0 {
			return r, errDTRange(s)
		}
		r.year = 1 - r.year
	} else if r.hasDate && r.year <= 0 {
		return r, errDTRange(s)
	}
	return r, nil
}

// adjustYear maps a two-digit year to 1970..2069, as PostgreSQL does for
// years written with two digits outside ISO order.
func adjustYear(y int64, digits int) int64 {
	if digits > 2 {
		return y
	}
	if y < 70 {
		return y + 2000
	}
	return y + 1900
}

type dtError int

const (
	dtErrSyntax dtError = iota
	dtErrRange
)

func (e dtError) Error() string { return "date/time error" }

func dtErr(err error, s string, kind dtKind) error {
	if e, ok := err.(dtError); ok && e == dtErrRange {
		return errDTRange(s)
	}
	return errDTSyntax(s, kind)
}

// decodeDateField decodes "2024-01-31", "1/31/2024", "31-jan-2024",
// "2024.01.31" into r.
func decodeDateField(f string, r *dtResult) error {
	sep := "-"
	switch {
	case strings.Contains(f, "/"):
		sep = "/"
	case strings.Contains(f, "."):
		sep = "."
	}
	parts := strings.Split(f, sep)
	if len(parts) != 3 {
		return dtErrSyntax
	}
	month := 0
	var nums []string
	for _, p := range parts {
		if p == "" {
			return dtErrSyntax
		}
		if p[0] >= 'a' && p[0] <= 'z' {
			m := monthNames[p]
			if m == 0 || month != 0 {
				return dtErrSyntax
			}
			month = m
			continue
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return dtErrSyntax
			}
		}
		if len(p) > 18 {
			return dtErrRange
		}
		nums = append(nums, p)
	}
	atoi := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	if month != 0 {
		if len(nums) != 2 {
			return dtErrSyntax
		}
		if len(nums[0]) > 2 || atoi(nums[0]) > 31 {
			r.year, r.day = atoi(nums[0]), int(atoi(nums[1]))
		} else {
			r.day, r.year = int(atoi(nums[0])), adjustYear(atoi(nums[1]), len(nums[1]))
		}
		r.month, r.hasDate = month, true
		return nil
	}
	if len(parts[0]) > 2 {
		// Y-M-D
		r.year, r.month, r.day = atoi(nums[0]), int(atoi(nums[1])), int(atoi(nums[2]))
	} else {
		// M-D-Y (DateStyle MDY)
		r.month, r.day = int(atoi(nums[0])), int(atoi(nums[1]))
		r.year = adjustYear(atoi(nums[2]), len(nums[2]))
	}
	if len(parts[1]) > 2 || len(parts[2]) > 2 && len(parts[0]) > 2 {
		return dtErrRange
	}
	r.hasDate = true
	return nil
}

// DaysFromCivil returns the days since 2000-01-01 of the proleptic
// Gregorian date y-m-d (astronomical years: 0 is 1 BC). It does not check
// ranges.
func DaysFromCivil(y int64, m, d int) int64 { return daysFromCivil(y, m, d) }

// CivilFromDays is the inverse of DaysFromCivil.
func CivilFromDays(days int64) (y int64, m, d int) { return civilFromDays(days) }

// Microsecond constants for date/time arithmetic.
const (
	MicrosPerSecond = usPerSec
	MicrosPerMinute = usPerMin
	MicrosPerHour   = usPerHour
	MicrosPerDay    = usPerDay
	// UnixEpochDays is 1970-01-01 in days since 2000-01-01.
	UnixEpochDays = unixEpochDays
)

// TimestampMicrosValid reports whether us (microseconds since 2000-01-01)
// is a finite timestamp within PostgreSQL's range.
func TimestampMicrosValid(us int64) bool { return timestampMicrosValid(us) }

// FloorDiv divides rounding toward negative infinity.
func FloorDiv(a, b int64) int64 { return floorDiv(a, b) }
