package types

import (
	"math"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// codeIntervalFieldOverflow is SQLSTATE 22015 (interval_field_overflow),
// which sqlerr does not name.
const codeIntervalFieldOverflow = "22015"

// ErrIntervalOutOfRange returns PostgreSQL's 22008 "interval out of range".
func ErrIntervalOutOfRange() error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
}

// MakeDInterval checks that months and days fit the interval's int32
// fields and returns the interval.
func MakeDInterval(months, days, micros int64) (DInterval, error) {
	if months < math.MinInt32 || months > math.MaxInt32 || days < math.MinInt32 || days > math.MaxInt32 {
		return DInterval{}, ErrIntervalOutOfRange()
	}
	return DInterval{Months: int32(months), Days: int32(days), Micros: micros}, nil
}

// appendInterval appends the interval in IntervalStyle postgres: "1 year 2
// mons 3 days 04:05:06.5", "-1 days +02:00:00", "00:00:00".
func appendInterval(b []byte, iv DInterval) []byte {
	years := int64(iv.Months / 12)
	mons := int64(iv.Months % 12)
	zero, before := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !zero {
			b = append(b, ' ')
		}
		if before && v > 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ' ')
		b = append(b, unit...)
		if v != 1 {
			b = append(b, 's')
		}
		before = v < 0
		zero = false
	}
	part(years, "year")
	part(mons, "mon")
	part(int64(iv.Days), "day")
	if zero || iv.Micros != 0 {
		if !zero {
			b = append(b, ' ')
		}
		us := iv.Micros
		switch {
		case us < 0:
			b = append(b, '-')
		case before:
			b = append(b, '+')
		}
		if us == math.MinInt64 {
			// |MinInt64| does not fit; print via uint64.
			h := uint64(1<<63) / uint64(usPerHour)
			rest := int64(uint64(1<<63) - h*uint64(usPerHour))
			b = strconv.AppendUint(b, h, 10)
			b = append(b, ':')
			b = appendPadded(b, rest/usPerMin, 2)
			b = append(b, ':')
			return appendSeconds(b, rest%usPerMin)
		}
		if us < 0 {
			us = -us
		}
		b = appendClock(b, us)
	}
	return b
}

// Interval unit bits, to reject a unit given twice as PostgreSQL does.
const (
	ivYear = 1 << iota
	ivMonth
	ivWeek
	ivDay
	ivHour
	ivMinute
	ivSecond
	ivMilli
	ivMicro
	ivDecade
	ivCentury
	ivMillennium
)

var intervalUnits = map[string]int{
	"microsecond": ivMicro, "microseconds": ivMicro, "us": ivMicro, "usec": ivMicro, "usecs": ivMicro, "microsecon": ivMicro,
	"millisecond": ivMilli, "milliseconds": ivMilli, "ms": ivMilli, "msec": ivMilli, "msecs": ivMilli, "millisecon": ivMilli,
	"second": ivSecond, "seconds": ivSecond, "s": ivSecond, "sec": ivSecond, "secs": ivSecond,
	"minute": ivMinute, "minutes": ivMinute, "m": ivMinute, "min": ivMinute, "mins": ivMinute,
	"hour": ivHour, "hours": ivHour, "h": ivHour, "hr": ivHour, "hrs": ivHour,
	"day": ivDay, "days": ivDay, "d": ivDay,
	"week": ivWeek, "weeks": ivWeek, "w": ivWeek,
	"month": ivMonth, "months": ivMonth, "mon": ivMonth, "mons": ivMonth,
	"year": ivYear, "years": ivYear, "y": ivYear, "yr": ivYear, "yrs": ivYear,
	"decade": ivDecade, "decades": ivDecade, "dec": ivDecade, "decs": ivDecade,
	"century": ivCentury, "centuries": ivCentury, "c": ivCentury, "cent": ivCentury,
	"millennium": ivMillennium, "millennia": ivMillennium, "mil": ivMillennium, "mils": ivMillennium,
}

// ivAcc accumulates interval fields with overflow detection.
type ivAcc struct {
	months, days, us int64
	overflow         bool
	// fieldOverflow: a days or months number itself beyond int32 (22015
	// rather than 22008, as PostgreSQL).
	fieldOverflow bool
}

func (a *ivAcc) add(p *int64, v int64) {
	r := *p + v
	if (v > 0 && r < *p) || (v < 0 && r > *p) {
		a.overflow = true
	}
	*p = r
}

func mulOK(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return r, true
}

func (a *ivAcc) addMul(p *int64, v, scale int64) {
	r, ok := mulOK(v, scale)
	if !ok {
		a.overflow = true
		return
	}
	a.add(p, r)
}

// fractMicros adds frac*scale microseconds, rounding the sub-microsecond
// part half to even (PostgreSQL's AdjustFractMicroseconds).
func (a *ivAcc) fractMicros(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	if math.Abs(f) > 9e18 {
		a.overflow = true
		return
	}
	us := int64(f)
	us += int64(math.RoundToEven(f - float64(us)))
	a.add(&a.us, us)
}

// fractDays adds frac*scale days, the fraction of a day as microseconds
// (AdjustFractDays).
func (a *ivAcc) fractDays(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	if math.Abs(f) > 9e18 {
		a.overflow = true
		return
	}
	d := int64(f)
	a.add(&a.days, d)
	a.fractMicros(f-float64(d), usPerDay)
}

// fractYears adds frac*scale years as whole months, rounded
// (AdjustFractYears).
func (a *ivAcc) fractYears(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := math.RoundToEven(frac * float64(scale) * 12)
	if math.Abs(f) > 9e18 {
		a.overflow = true
		return
	}
	a.add(&a.months, int64(f))
}

// addUnit adds ival+frac of unit.
func (a *ivAcc) addUnit(unit int, ival int64, frac float64) {
	if (unit == ivDay || unit == ivMonth) && (ival > math.MaxInt32 || ival < math.MinInt32) {
		a.fieldOverflow = true
	}
	switch unit {
	case ivMicro:
		a.add(&a.us, ival)
		a.add(&a.us, int64(math.RoundToEven(frac)))
	case ivMilli:
		a.addMul(&a.us, ival, 1000)
		a.fractMicros(frac, 1000)
	case ivSecond:
		a.addMul(&a.us, ival, usPerSec)
		a.fractMicros(frac, usPerSec)
	case ivMinute:
		a.addMul(&a.us, ival, usPerMin)
		a.fractMicros(frac, usPerMin)
	case ivHour:
		a.addMul(&a.us, ival, usPerHour)
		a.fractMicros(frac, usPerHour)
	case ivDay:
		a.add(&a.days, ival)
		a.fractMicros(frac, usPerDay)
	case ivWeek:
		a.addMul(&a.days, ival, 7)
		a.fractDays(frac, 7)
	case ivMonth:
		a.add(&a.months, ival)
		a.fractDays(frac, 30)
	case ivYear:
		a.addMul(&a.months, ival, 12)
		a.fractYears(frac, 1)
	case ivDecade:
		a.addMul(&a.months, ival, 120)
		a.fractYears(frac, 10)
	case ivCentury:
		a.addMul(&a.months, ival, 1200)
		a.fractYears(frac, 100)
	case ivMillennium:
		a.addMul(&a.months, ival, 12000)
		a.fractYears(frac, 1000)
	}
}

// parseIvNumber parses [+-]digits[.digits] (or [+-].digits) at the start of
// s, returning the integer part, the signed fraction and the rest.
func parseIvNumber(s string) (ival int64, frac float64, rest string, ok bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if ival > (math.MaxInt64-9)/10 {
			return 0, 0, "", false
		}
		ival = ival*10 + int64(s[i]-'0')
		i++
	}
	nInt := i - start
	nFrac := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		nFrac = i - fs
		if nFrac > 0 {
			frac, _ = strconv.ParseFloat("0."+s[fs:i], 64)
		}
	}
	if nInt+nFrac == 0 {
		return 0, 0, "", false
	}
	if neg {
		ival, frac = -ival, -frac
	}
	return ival, frac, s[i:], true
}

// ParseInterval parses PostgreSQL interval input: the verbose format ("1
// year 2 mons 3 days 04:05:06.5", "2 hours ago", "@ 1 minute"), SQL
// standard pieces ("1-2" years-months, "3 4:05:06" days and time), ISO 8601
// ("P1Y2M3DT4H5M6S", "P0001-02-03T04:05:06") and a bare number of seconds.
func ParseInterval(s string) (DInterval, error) {
	bad := func() (DInterval, error) {
		return DInterval{}, sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type interval: \"%s\"", s)
	}
	in := strings.TrimSpace(s)
	var a ivAcc
	var err error
	if len(in) > 0 && (in[0] == 'P' || in[0] == 'p') {
		if !parseISOInterval(in[1:], &a) {
			return bad()
		}
	} else if err = parseVerboseInterval(in, &a); err != nil {
		if err == errIvSyntax {
			return bad()
		}
		return DInterval{}, sqlerr.New(codeIntervalFieldOverflow, "interval field value out of range: \"%s\"", s)
	}
	if a.fieldOverflow {
		return DInterval{}, sqlerr.New(codeIntervalFieldOverflow, "interval field value out of range: \"%s\"", s)
	}
	if a.overflow || a.months < math.MinInt32 || a.months > math.MaxInt32 || a.days < math.MinInt32 || a.days > math.MaxInt32 {
		return DInterval{}, ErrIntervalOutOfRange()
	}
	return DInterval{Months: int32(a.months), Days: int32(a.days), Micros: a.us}, nil
}

type ivError int

func (ivError) Error() string { return "interval syntax" }

const (
	errIvSyntax ivError = iota
	errIvField
)

func parseVerboseInterval(in string, a *ivAcc) error {
	in = strings.TrimPrefix(in, "@")
	words := strings.Fields(strings.ToLower(in))
	if len(words) == 0 {
		return errIvSyntax
	}
	mask := 0
	use := func(bits int) bool {
		if mask&bits != 0 {
			return false
		}
		mask |= bits
		return true
	}
	ago := false
	// pending is a number waiting for its unit.
	var pending struct {
		set  bool
		ival int64
		frac float64
	}
	flushSeconds := func() bool {
		if !pending.set {
			return true
		}
		pending.set = false
		if !use(ivSecond) {
			return false
		}
		a.addUnit(ivSecond, pending.ival, pending.frac)
		return true
	}
	for wi, w := range words {
		if ago {
			return errIvSyntax // "ago" must be last
		}
		switch {
		case w == "ago":
			if !flushSeconds() {
				return errIvSyntax
			}
			ago = true
		case strings.Contains(w, ":"):
			if pending.set {
				// SQL standard "3 4:05:06": the number is days.
				if pending.frac != 0 || !use(ivDay) {
					return errIvSyntax
				}
				a.add(&a.days, pending.ival)
				pending.set = false
			}
			if !use(ivHour|ivMinute|ivSecond) || !addIntervalClock(w, a) {
				return errIvSyntax
			}
		case isYearMonth(w):
			if !flushSeconds() || !use(ivYear|ivMonth) {
				return errIvSyntax
			}
			neg := w[0] == '-'
			y, m, _ := strings.Cut(strings.TrimLeft(w, "+-"), "-")
			yv, err1 := strconv.ParseInt(y, 10, 64)
			mv, err2 := strconv.ParseInt(m, 10, 64)
			if err1 != nil || err2 != nil || mv > 11 {
				return errIvField
			}
			v := yv*12 + mv
			if neg {
				v = -v
			}
			a.add(&a.months, v)
		case w[0] >= '0' && w[0] <= '9' || w[0] == '+' || w[0] == '-' || w[0] == '.':
			if pending.set {
				return errIvSyntax
			}
			ival, frac, rest, ok := parseIvNumber(w)
			if !ok {
				return errIvSyntax
			}
			if rest != "" {
				unit, ok := intervalUnits[rest]
				if !ok || !use(unit) {
					return errIvSyntax
				}
				a.addUnit(unit, ival, frac)
				continue
			}
			pending.set, pending.ival, pending.frac = true, ival, frac
			if wi == len(words)-1 && !flushSeconds() {
				return errIvSyntax
			}
		default:
			unit, ok := intervalUnits[w]
			if !ok || !pending.set || !use(unit) {
				return errIvSyntax
			}
			pending.set = false
			a.addUnit(unit, pending.ival, pending.frac)
		}
	}
	if !flushSeconds() {
		return errIvSyntax
	}
	if ago {
		a.months, a.days, a.us = -a.months, -a.days, -a.us
	}
	return nil
}

func isYearMonth(w string) bool {
	w = strings.TrimLeft(w, "+-")
	y, m, ok := strings.Cut(w, "-")
	if !ok || y == "" || m == "" {
		return false
	}
	for _, c := range []byte(y + m) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// addIntervalClock adds a [+-]H:M[:S[.f]] field.
func addIntervalClock(w string, a *ivAcc) bool {
	neg := false
	if w[0] == '+' || w[0] == '-' {
		neg = w[0] == '-'
		w = w[1:]
	}
	parts := strings.Split(w, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	var h, m int64
	var err error
	if h, err = strconv.ParseInt(parts[0], 10, 64); err != nil || parts[0][0] == '+' || parts[0][0] == '-' {
		return false
	}
	if m, err = strconv.ParseInt(parts[1], 10, 64); err != nil || parts[1][0] == '+' || parts[1][0] == '-' || m > 59 {
		return false
	}
	var secUS int64
	if len(parts) == 3 {
		ip, fp, _ := strings.Cut(parts[2], ".")
		sec, err := strconv.ParseInt(ip, 10, 64)
		if err != nil || ip[0] == '+' || ip[0] == '-' || sec > 59 {
			return false
		}
		var frac float64
		if fp != "" {
			for _, c := range []byte(fp) {
				if c < '0' || c > '9' {
					return false
				}
			}
			frac, _ = strconv.ParseFloat("0."+fp, 64)
		}
		secUS = sec*usPerSec + int64(math.RoundToEven(frac*1e6))
	}
	hus, ok := mulOK(h, usPerHour)
	if !ok {
		return false
	}
	total := hus + m*usPerMin + secUS
	if total < 0 {
		return false
	}
	if neg {
		total = -total
	}
	a.add(&a.us, total)
	return true
}

// parseISOInterval parses the part after "P" of an ISO 8601 duration.
func parseISOInterval(s string, a *ivAcc) bool {
	if s == "" {
		return false
	}
	// Alternative format: YYYY-MM-DDTHH:MM:SS.
	if len(s) >= 4 && strings.Count(s, "-") == 2 && !strings.ContainsAny(strings.ToUpper(s), "YWDHMS") {
		date, clock, _ := strings.Cut(strings.ToUpper(s), "T")
		p := strings.Split(date, "-")
		if len(p) != 3 {
			return false
		}
		y, e1 := strconv.ParseInt(p[0], 10, 64)
		mo, e2 := strconv.ParseInt(p[1], 10, 64)
		d, e3 := strconv.ParseInt(p[2], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil {
			return false
		}
		a.add(&a.months, y*12+mo)
		a.add(&a.days, d)
		if clock != "" {
			return addIntervalClock(clock, a)
		}
		return true
	}
	inTime := false
	mask := 0
	s = strings.ToUpper(s)
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return false
			}
			inTime = true
			s = s[1:]
			continue
		}
		ival, frac, rest, ok := parseIvNumber(s)
		if !ok || rest == "" {
			return false
		}
		var unit int
		switch rest[0] {
		case 'Y':
			unit = ivYear
		case 'M':
			unit = ivMonth
			if inTime {
				unit = ivMinute
			}
		case 'W':
			unit = ivWeek
		case 'D':
			unit = ivDay
		case 'H':
			unit = ivHour
		case 'S':
			unit = ivSecond
		default:
			return false
		}
		if (unit == ivHour || unit == ivSecond) != inTime && unit != ivMinute && unit != ivMonth {
			return false
		}
		if mask&unit != 0 {
			return false
		}
		mask |= unit
		a.addUnit(unit, ival, frac)
		s = rest[1:]
	}
	return true
}
