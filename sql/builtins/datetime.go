package builtins

import (
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

const (
	usPerSec  = types.MicrosPerSecond
	usPerMin  = types.MicrosPerMinute
	usPerHour = types.MicrosPerHour
	usPerDay  = types.MicrosPerDay
)

func errTimestampRange() error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range")
}

func isInfMicros(us int64) bool { return us == math.MaxInt64 || us == math.MinInt64 }

func tsMicros(d types.Datum) int64 {
	switch v := d.(type) {
	case types.DTimestamp:
		return types.TimeToMicros(v.Time)
	case types.DTimestampTZ:
		return types.TimeToMicros(v.Time)
	}
	return 0
}

func addOK(a, b int64) (int64, bool) {
	r := a + b
	return r, (a^r)&(b^r) >= 0
}

// addMonthsDays adds months (clamping the day to the month's length) then
// days to a wall-clock timestamp, as PostgreSQL's timestamp_pl_interval.
func addMonthsDays(wall int64, months, days int32) (int64, error) {
	if months != 0 {
		dn := types.FloorDiv(wall, usPerDay)
		tod := wall - dn*usPerDay
		y, m, d := types.CivilFromDays(dn)
		total := y*12 + int64(m-1) + int64(months)
		y2 := types.FloorDiv(total, 12)
		m2 := int(total-y2*12) + 1
		d = min(d, types.DaysInMonth(y2, m2))
		if y2 < -5000 || y2 > 300000 {
			return 0, errTimestampRange()
		}
		wall = types.DaysFromCivil(y2, m2, d)*usPerDay + tod
	}
	if days != 0 {
		var ok bool
		if wall, ok = addOK(wall, int64(days)*usPerDay); !ok {
			return 0, errTimestampRange()
		}
	}
	return wall, nil
}

// timestampAddInterval adds iv to the timestamp (without zone) us.
func timestampAddInterval(us int64, iv types.DInterval) (types.DTimestamp, error) {
	if isInfMicros(us) {
		return types.DTimestamp{Time: types.MicrosToTime(us)}, nil
	}
	wall, err := addMonthsDays(us, iv.Months, iv.Days)
	if err != nil {
		return types.DTimestamp{}, err
	}
	wall, ok := addOK(wall, iv.Micros)
	if !ok || !types.TimestampMicrosValid(wall) {
		return types.DTimestamp{}, errTimestampRange()
	}
	return types.DTimestamp{Time: types.MicrosToTime(wall)}, nil
}

// timestamptzAddInterval adds iv to the instant us: months and days in
// the session time zone (so that '1 day' across a DST change keeps the
// wall-clock time), microseconds as elapsed time.
func timestamptzAddInterval(us int64, iv types.DInterval, loc *time.Location) (types.DTimestampTZ, error) {
	if isInfMicros(us) {
		return types.DTimestampTZ{Time: types.MicrosToTime(us)}, nil
	}
	if iv.Months != 0 || iv.Days != 0 {
		wall, _ := types.UTCToLocalMicros(us, loc)
		wall, err := addMonthsDays(wall, iv.Months, iv.Days)
		if err != nil {
			return types.DTimestampTZ{}, err
		}
		if !types.TimestampMicrosValid(wall) {
			return types.DTimestampTZ{}, errTimestampRange()
		}
		us = types.LocalToUTCMicros(wall, loc)
	}
	us, ok := addOK(us, iv.Micros)
	if !ok || !types.TimestampMicrosValid(us) {
		return types.DTimestampTZ{}, errTimestampRange()
	}
	return types.DTimestampTZ{Time: types.MicrosToTime(us)}, nil
}

func ivNeg(iv types.DInterval) (types.DInterval, error) {
	if iv.Months == math.MinInt32 || iv.Days == math.MinInt32 || iv.Micros == math.MinInt64 {
		return types.DInterval{}, types.ErrIntervalOutOfRange()
	}
	return types.DInterval{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}, nil
}

func ivAdd(a, b types.DInterval) (types.DInterval, error) {
	us, ok := addOK(a.Micros, b.Micros)
	if !ok {
		return types.DInterval{}, types.ErrIntervalOutOfRange()
	}
	return types.MakeDInterval(int64(a.Months)+int64(b.Months), int64(a.Days)+int64(b.Days), us)
}

func ivSub(a, b types.DInterval) (types.DInterval, error) {
	nb, err := ivNeg(b)
	if err != nil {
		return types.DInterval{}, err
	}
	return ivAdd(a, nb)
}

// tsround is PostgreSQL's TSROUND: round to microsecond precision.
func tsround(f float64) float64 { return math.RoundToEven(f*1e6) / 1e6 }

// ivMul is PostgreSQL 15's interval_mul: whole months and days scale,
// their fractions cascade down to days and seconds.
func ivMul(iv types.DInterval, factor float64, divide bool) (types.DInterval, error) {
	scale := func(v float64) float64 {
		if divide {
			return v / factor
		}
		return v * factor
	}
	if divide && factor == 0 {
		return types.DInterval{}, errDivByZero()
	}
	rm := scale(float64(iv.Months))
	if math.IsNaN(rm) || rm > math.MaxInt32 || rm < math.MinInt32 {
		return types.DInterval{}, types.ErrIntervalOutOfRange()
	}
	rd := scale(float64(iv.Days))
	if math.IsNaN(rd) || rd > math.MaxInt32 || rd < math.MinInt32 {
		return types.DInterval{}, types.ErrIntervalOutOfRange()
	}
	months, days := int32(rm), int32(rd)
	monthRemDays := tsround((rm - float64(months)) * 30)
	secRem := tsround((rd - float64(days) + monthRemDays - float64(int32(monthRemDays))) * 86400)
	d := int64(days)
	if math.Abs(secRem) >= 86400 {
		d += int64(secRem / 86400)
		secRem -= float64(int64(secRem/86400)) * 86400
	}
	d += int64(int32(monthRemDays))
	t := math.RoundToEven(scale(float64(iv.Micros)) + secRem*1e6)
	if math.IsNaN(t) || t >= 9223372036854775807.0 || t < -9223372036854775808.0 {
		return types.DInterval{}, types.ErrIntervalOutOfRange()
	}
	return types.MakeDInterval(int64(months), d, int64(t))
}

// justifyHours moves whole days out of the time part, keeping the signs of
// days and time consistent (justify_hours).
func justifyHours(iv types.DInterval) (types.DInterval, error) {
	wholeDays := iv.Micros / usPerDay
	t := iv.Micros - wholeDays*usPerDay
	d := int64(iv.Days) + wholeDays
	if d > 0 && t < 0 {
		t += usPerDay
		d--
	} else if d < 0 && t > 0 {
		t -= usPerDay
		d++
	}
	return types.MakeDInterval(int64(iv.Months), d, t)
}

// justifyDays moves whole 30-day months out of the days (justify_days).
func justifyDays(iv types.DInterval) (types.DInterval, error) {
	wholeMonths := iv.Days / 30
	d := iv.Days - wholeMonths*30
	m := int64(iv.Months) + int64(wholeMonths)
	if m > 0 && d < 0 {
		d += 30
		m--
	} else if m < 0 && d > 0 {
		d -= 30
		m++
	}
	return types.MakeDInterval(m, int64(d), iv.Micros)
}

func justifyInterval(iv types.DInterval) (types.DInterval, error) {
	// Like PostgreSQL: days from time first, then months from days, then
	// make all signs agree.
	m := int64(iv.Months)
	d := int64(iv.Days) + iv.Micros/usPerDay
	t := iv.Micros % usPerDay
	m += d / 30
	d %= 30
	if m > 0 && (d < 0 || (d == 0 && t < 0)) {
		d += 30
		m--
	} else if m < 0 && (d > 0 || (d == 0 && t > 0)) {
		d -= 30
		m++
	}
	if d > 0 && t < 0 {
		t += usPerDay
		d--
	} else if d < 0 && t > 0 {
		t -= usPerDay
		d++
	}
	return types.MakeDInterval(m, d, t)
}

// timestampDiff is timestamp - timestamp: elapsed microseconds, with whole
// days moved into the days field (PostgreSQL's timestamp_mi).
func timestampDiff(a, b int64) (types.Datum, error) {
	if isInfMicros(a) || isInfMicros(b) {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
	}
	diff := a - b
	if (a^b)&(a^diff) < 0 {
		return nil, types.ErrIntervalOutOfRange()
	}
	iv, err := justifyHours(types.DInterval{Micros: diff})
	return iv, err
}

func dateAddDays(d types.DDate, n int64) (types.Datum, error) {
	if d.IsInfinite() {
		return d, nil
	}
	r := int64(d) + n
	if r < int64(types.MinDate) || r > int64(types.MaxDate) {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range")
	}
	return types.DDate(r), nil
}

func dateToTimestamp(d types.DDate) (int64, error) { return types.DateToMicros(d) }

func registerDateTimeOps() {
	I, D, TS, TZ, IV, F8 := types.Int4, types.Date, types.Timestamp, types.TimestampTZ, types.Interval, types.Float8
	addBin("+", D, I, D, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return dateAddDays(a.(types.DDate), int64(b.(types.DInt)))
	})
	addBin("+", I, D, D, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return dateAddDays(b.(types.DDate), int64(a.(types.DInt)))
	})
	addBin("-", D, I, D, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return dateAddDays(a.(types.DDate), -int64(b.(types.DInt)))
	})
	addBin("-", D, D, I, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		x, y := a.(types.DDate), b.(types.DDate)
		if x.IsInfinite() || y.IsInfinite() {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite dates")
		}
		return types.DInt(int64(x) - int64(y)), nil
	})
	tsPlus := func(us int64, iv types.DInterval) (types.Datum, error) { return timestampAddInterval(us, iv) }
	addBin("+", D, IV, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		us, err := dateToTimestamp(a.(types.DDate))
		if err != nil {
			return nil, err
		}
		return tsPlus(us, b.(types.DInterval))
	})
	addBin("+", IV, D, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		us, err := dateToTimestamp(b.(types.DDate))
		if err != nil {
			return nil, err
		}
		return tsPlus(us, a.(types.DInterval))
	})
	addBin("-", D, IV, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		us, err := dateToTimestamp(a.(types.DDate))
		if err != nil {
			return nil, err
		}
		n, err := ivNeg(b.(types.DInterval))
		if err != nil {
			return nil, err
		}
		return tsPlus(us, n)
	})
	addBin("+", TS, IV, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return tsPlus(tsMicros(a), b.(types.DInterval))
	})
	addBin("+", IV, TS, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return tsPlus(tsMicros(b), a.(types.DInterval))
	})
	addBin("-", TS, IV, TS, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		n, err := ivNeg(b.(types.DInterval))
		if err != nil {
			return nil, err
		}
		return tsPlus(tsMicros(a), n)
	})
	addBin("+", TZ, IV, TZ, Stable, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return timestamptzAddInterval(tsMicros(a), b.(types.DInterval), ctx.Loc())
	})
	addBin("+", IV, TZ, TZ, Stable, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return timestamptzAddInterval(tsMicros(b), a.(types.DInterval), ctx.Loc())
	})
	addBin("-", TZ, IV, TZ, Stable, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		n, err := ivNeg(b.(types.DInterval))
		if err != nil {
			return nil, err
		}
		return timestamptzAddInterval(tsMicros(a), n, ctx.Loc())
	})
	addBin("-", TS, TS, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return timestampDiff(tsMicros(a), tsMicros(b))
	})
	addBin("-", TZ, TZ, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return timestampDiff(tsMicros(a), tsMicros(b))
	})
	addBin("+", IV, IV, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return ivAdd(a.(types.DInterval), b.(types.DInterval))
	})
	addBin("-", IV, IV, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return ivSub(a.(types.DInterval), b.(types.DInterval))
	})
	addBin("*", IV, F8, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return ivMul(a.(types.DInterval), float64(b.(types.DFloat)), false)
	})
	addBin("*", F8, IV, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return ivMul(b.(types.DInterval), float64(a.(types.DFloat)), false)
	})
	addBin("/", IV, F8, IV, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return ivMul(a.(types.DInterval), float64(b.(types.DFloat)), true)
	})
	addUnary("-", IV, IV, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
		return ivNeg(x.(types.DInterval))
	})
	addUnary("+", IV, IV, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) { return x, nil })
}

// Date/time fields, as PostgreSQL's units.
type dtField int

const (
	fMicroseconds dtField = iota + 1
	fMilliseconds
	fSecond
	fMinute
	fHour
	fDay
	fWeek
	fMonth
	fQuarter
	fYear
	fDecade
	fCentury
	fMillennium
	fDow
	fDoy
	fIsodow
	fIsoyear
	fEpoch
	fJulian
	fTimezone
	fTimezoneHour
	fTimezoneMinute
)

var dtFields = map[string]dtField{}

func init() {
	for f, names := range map[dtField][]string{
		fMicroseconds:   {"microsecond", "microseconds", "us", "usec", "usecs", "microsecon"},
		fMilliseconds:   {"millisecond", "milliseconds", "ms", "msec", "msecs", "millisecon"},
		fSecond:         {"second", "seconds", "s", "sec", "secs"},
		fMinute:         {"minute", "minutes", "m", "min", "mins"},
		fHour:           {"hour", "hours", "h", "hr", "hrs"},
		fDay:            {"day", "days", "d"},
		fWeek:           {"week", "weeks", "w"},
		fMonth:          {"month", "months", "mon", "mons"},
		fQuarter:        {"quarter", "qtr"},
		fYear:           {"year", "years", "y", "yr", "yrs"},
		fDecade:         {"decade", "decades", "dec", "decs"},
		fCentury:        {"century", "centuries", "c", "cent"},
		fMillennium:     {"millennium", "millennia", "mil", "mils"},
		fDow:            {"dow"},
		fDoy:            {"doy"},
		fIsodow:         {"isodow"},
		fIsoyear:        {"isoyear"},
		fEpoch:          {"epoch"},
		fJulian:         {"julian", "j"},
		fTimezone:       {"timezone"},
		fTimezoneHour:   {"timezone_h", "timezone_hour"},
		fTimezoneMinute: {"timezone_m", "timezone_minute"},
	} {
		for _, n := range names {
			dtFields[n] = f
		}
	}
}

func lookupField(unit string, t *types.T) (dtField, string, error) {
	low := strings.ToLower(strings.TrimSpace(unit))
	f, ok := dtFields[low]
	if !ok {
		return 0, low, sqlerr.New(sqlerr.InvalidParameterValue, "unit \"%s\" not recognized for type %s", low, t.SQLString())
	}
	return f, low, nil
}

func errUnitNotRecognized(low string, t *types.T) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "unit \"%s\" not recognized for type %s", low, t.SQLString())
}

func errUnitNotSupported(low string, t *types.T) *sqlerr.Error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "unit \"%s\" not supported for type %s", low, t.SQLString())
}

// tmFields are the civil fields of a wall-clock timestamp.
type tmFields struct {
	year       int64 // astronomical: 0 is 1 BC
	month, day int
	hour, min  int64
	secUS      int64 // seconds and fraction, in microseconds
	days       int64 // days since 2000-01-01
	tod        int64 // microseconds since midnight
}

func wallFields(wall int64) tmFields {
	days := types.FloorDiv(wall, usPerDay)
	tod := wall - days*usPerDay
	y, m, d := types.CivilFromDays(days)
	return tmFields{year: y, month: m, day: d, hour: tod / usPerHour, min: (tod / usPerMin) % 60,
		secUS: tod % usPerMin, days: days, tod: tod}
}

// decFromScaled returns v × 10^-scale as a numeric of that scale.
func decFromScaled(v int64, scale int32) *types.DDecimal {
	d := types.DecimalFromInt(v)
	d.Exponent = -scale
	return d
}

func isoWeek(y int64, m, d int) (int, int) {
	if y < -200000 || y > 300000 {
		return 0, 0
	}
	t := time.Date(int(y), time.Month(m), d, 12, 0, 0, 0, time.UTC)
	iy, w := t.ISOWeek()
	return iy, w
}

// extractTimestamp returns extract(field from ts) as a numeric (PostgreSQL
// 14+); the result may be NULL (a non-monotonic field of an infinite
// timestamp).
func extractTimestamp(unit string, d types.Datum, t *types.T, ctx *types.EvalContext) (types.Datum, error) {
	f, low, err := lookupField(unit, t)
	if err != nil {
		return nil, err
	}
	var tm tmFields
	isDate := t.Family == types.DateFamily
	withZone := t.Family == types.TimestampTZFamily
	var utc int64
	switch v := d.(type) {
	case types.DDate:
		if v.IsInfinite() {
			utc = math.MaxInt64
			if v == types.DateNegInf {
				utc = math.MinInt64
			}
		} else {
			utc = int64(v) * usPerDay
		}
	default:
		utc = tsMicros(d)
	}
	if isDate {
		switch f {
		case fMicroseconds, fMilliseconds, fSecond, fMinute, fHour, fTimezone, fTimezoneHour, fTimezoneMinute:
			return nil, errUnitNotSupported(low, t)
		}
	}
	if !withZone {
		switch f {
		case fTimezone, fTimezoneHour, fTimezoneMinute:
			return nil, errUnitNotSupported(low, t)
		}
	}
	if isInfMicros(utc) {
		switch f {
		case fYear, fDecade, fCentury, fMillennium, fJulian, fIsoyear, fEpoch:
			r := &types.DDecimal{}
			r.Form, r.Negative = apd.Infinite, utc < 0
			return r, nil
		}
		return types.Null, nil
	}
	wall := utc
	off := 0
	if withZone {
		wall, off = types.UTCToLocalMicros(utc, ctx.Loc())
	}
	tm = wallFields(wall)
	y := tm.year
	var iv int64
	switch f {
	case fMicroseconds:
		return types.DecimalFromInt(tm.secUS), nil
	case fMilliseconds:
		return decFromScaled(tm.secUS, 3), nil
	case fSecond:
		return decFromScaled(tm.secUS, 6), nil
	case fMinute:
		iv = tm.min
	case fHour:
		iv = tm.hour
	case fDay:
		iv = int64(tm.day)
	case fMonth:
		iv = int64(tm.month)
	case fQuarter:
		iv = int64((tm.month-1)/3 + 1)
	case fWeek:
		_, w := isoWeek(y, tm.month, tm.day)
		iv = int64(w)
	case fIsoyear:
		iy, _ := isoWeek(y, tm.month, tm.day)
		iv = int64(iy)
		if iv <= 0 {
			iv--
		}
	case fYear:
		iv = y
		if y <= 0 {
			iv = y - 1
		}
	case fDecade:
		if y >= 0 {
			iv = y / 10
		} else {
			iv = -((8 - (y - 1)) / 10)
		}
	case fCentury:
		if y > 0 {
			iv = (y + 99) / 100
		} else {
			iv = -((99 - (y - 1)) / 100)
		}
	case fMillennium:
		if y > 0 {
			iv = (y + 999) / 1000
		} else {
			iv = -((999 - (y - 1)) / 1000)
		}
	case fDow:
		iv = ((tm.days+6)%7 + 7) % 7
	case fIsodow:
		iv = ((tm.days+6)%7 + 7) % 7
		if iv == 0 {
			iv = 7
		}
	case fDoy:
		iv = tm.days - types.DaysFromCivil(y, 1, 1) + 1
	case fJulian:
		j := types.DecimalFromInt(tm.days + 2451545)
		if isDate {
			return j, nil
		}
		frac, err := numDiv(types.DecimalFromInt(tm.tod), types.DecimalFromInt(usPerDay))
		if err != nil {
			return nil, err
		}
		return numAdd(j, frac, false)
	case fEpoch:
		e := utc - int64(types.UnixEpochDays)*usPerDay
		if isDate {
			return types.DecimalFromInt(e / usPerSec), nil
		}
		return decFromScaled(e, 6), nil
	case fTimezone:
		iv = int64(off)
	case fTimezoneHour:
		iv = int64(off / 3600)
	case fTimezoneMinute:
		iv = int64((off / 60) % 60)
	default:
		return nil, errUnitNotSupported(low, t)
	}
	return types.DecimalFromInt(iv), nil
}

// extractInterval returns extract(field from interval) as a numeric.
func extractInterval(unit string, iv types.DInterval) (types.Datum, error) {
	f, low, err := lookupField(unit, types.Interval)
	if err != nil {
		return nil, err
	}
	years := int64(iv.Months / 12)
	mons := int64(iv.Months % 12)
	t := iv.Micros
	hours := t / usPerHour
	t -= hours * usPerHour
	mins := t / usPerMin
	t -= mins * usPerMin
	secUS := t
	switch f {
	case fMicroseconds:
		return types.DecimalFromInt(secUS), nil
	case fMilliseconds:
		return decFromScaled(secUS, 3), nil
	case fSecond:
		return decFromScaled(secUS, 6), nil
	case fMinute:
		return types.DecimalFromInt(mins), nil
	case fHour:
		return types.DecimalFromInt(hours), nil
	case fDay:
		return types.DecimalFromInt(int64(iv.Days)), nil
	case fMonth:
		return types.DecimalFromInt(mons), nil
	case fQuarter:
		return types.DecimalFromInt(mons/3 + 1), nil
	case fYear:
		return types.DecimalFromInt(years), nil
	case fDecade:
		return types.DecimalFromInt(years / 10), nil
	case fCentury:
		return types.DecimalFromInt(years / 100), nil
	case fMillennium:
		return types.DecimalFromInt(years / 1000), nil
	case fEpoch:
		// 365.25 days a year, 30 days a month; computed ×4 in integers.
		secs := (int64(4*365.25)*(int64(iv.Months)/12) + int64(4*30)*(int64(iv.Months)%12) + 4*int64(iv.Days)) * (86400 / 4)
		a := decFromScaled(iv.Micros, 6)
		return numAdd(a, types.DecimalFromInt(secs), false)
	}
	return nil, errUnitNotSupported(low, types.Interval)
}

// datePart is date_part(): extract as float8.
func datePart(r types.Datum, err error) (types.Datum, error) {
	if err != nil || r == types.Null {
		return r, err
	}
	f, err := types.DecimalToFloat(r.(*types.DDecimal))
	return types.DFloat(f), err
}

// truncWall truncates a wall-clock timestamp to the unit.
func truncWall(f dtField, wall int64) (int64, bool) {
	tm := wallFields(wall)
	y, m, d := tm.year, tm.month, tm.day
	tod := tm.tod
	switch f {
	case fWeek:
		dow := ((tm.days+6)%7 + 7) % 7 // 0 = Sunday
		isodow := dow
		if isodow == 0 {
			isodow = 7
		}
		return (tm.days - (isodow - 1)) * usPerDay, true
	case fMillennium:
		if y > 0 {
			y = ((y+999)/1000)*1000 - 999
		} else {
			y = -((999-(y-1))/1000)*1000 + 1
		}
		m, d, tod = 1, 1, 0
	case fCentury:
		if y > 0 {
			y = ((y+99)/100)*100 - 99
		} else {
			y = -((99-(y-1))/100)*100 + 1
		}
		m, d, tod = 1, 1, 0
	case fDecade:
		if y > 0 {
			y = (y / 10) * 10
		} else {
			y = -((8 - (y - 1)) / 10) * 10
		}
		m, d, tod = 1, 1, 0
	case fYear:
		m, d, tod = 1, 1, 0
	case fQuarter:
		m, d, tod = 3*((m-1)/3)+1, 1, 0
	case fMonth:
		d, tod = 1, 0
	case fDay:
		tod = 0
	case fHour:
		tod -= tod % usPerHour
	case fMinute:
		tod -= tod % usPerMin
	case fSecond:
		tod -= tod % usPerSec
	case fMilliseconds:
		tod -= tod % 1000
	case fMicroseconds:
	default:
		return 0, false
	}
	return types.DaysFromCivil(y, m, d)*usPerDay + tod, true
}

// dateTrunc is date_trunc(unit, timestamp[tz]).
func dateTrunc(unit string, d types.Datum, t *types.T, ctx *types.EvalContext) (types.Datum, error) {
	f, low, err := lookupField(unit, t)
	if err != nil {
		return nil, err
	}
	us := tsMicros(d)
	if isInfMicros(us) {
		return d, nil
	}
	if t.Family == types.TimestampTZFamily {
		wall, off := types.UTCToLocalMicros(us, ctx.Loc())
		tw, ok := truncWall(f, wall)
		if !ok {
			return nil, errUnitNotRecognized(low, t)
		}
		var r int64
		if f >= fDay {
			r = types.LocalToUTCMicros(tw, ctx.Loc())
		} else {
			r = tw - int64(off)*usPerSec
		}
		return types.MakeTimestampTZFromMicros(r)
	}
	tw, ok := truncWall(f, us)
	if !ok {
		return nil, errUnitNotRecognized(low, t)
	}
	return types.MakeTimestampFromMicros(tw)
}

// intervalTrunc is date_trunc(unit, interval).
func intervalTrunc(unit string, iv types.DInterval) (types.Datum, error) {
	f, low, err := lookupField(unit, types.Interval)
	if err != nil {
		return nil, err
	}
	years := int64(iv.Months / 12)
	mons := int64(iv.Months % 12)
	days := int64(iv.Days)
	t := iv.Micros
	hours := t / usPerHour
	t -= hours * usPerHour
	mins := t / usPerMin
	t -= mins * usPerMin
	secs := t / usPerSec
	fsec := t - secs*usPerSec
	switch f {
	case fWeek:
		return nil, errUnitNotSupported(low, types.Interval).WithDetail("Months usually have fractional weeks.")
	case fMillennium, fCentury, fDecade, fYear, fQuarter, fMonth, fDay, fHour, fMinute, fSecond, fMilliseconds, fMicroseconds:
	default:
		return nil, errUnitNotRecognized(low, types.Interval)
	}
	// Each unit clears the fields below it (PostgreSQL's interval_trunc).
	switch f {
	case fMillennium:
		years = years / 1000 * 1000
	case fCentury:
		years = years / 100 * 100
	case fDecade:
		years = years / 10 * 10
	case fQuarter:
		mons = 3 * (mons / 3)
	case fMilliseconds:
		fsec = fsec / 1000 * 1000
	}
	if f >= fYear {
		mons = 0
	}
	if f >= fMonth {
		days = 0
	}
	if f >= fDay {
		hours = 0
	}
	if f >= fHour {
		mins = 0
	}
	if f >= fMinute {
		secs = 0
	}
	if f >= fSecond {
		fsec = 0
	}
	return types.MakeDInterval(years*12+mons, days, ((hours*60+mins)*60+secs)*usPerSec+fsec)
}

// age is PostgreSQL's symbolic difference of two wall-clock timestamps.
func age(a, b int64) (types.Datum, error) {
	if isInfMicros(a) || isInfMicros(b) {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
	}
	t1, t2 := wallFields(a), wallFields(b)
	usec := t1.tod%usPerSec - t2.tod%usPerSec
	sec := (t1.secUS/usPerSec - t2.secUS/usPerSec)
	mins := t1.min - t2.min
	hours := t1.hour - t2.hour
	mday := int64(t1.day - t2.day)
	mon := int64(t1.month - t2.month)
	year := t1.year - t2.year
	neg := a < b
	if neg {
		usec, sec, mins, hours, mday, mon, year = -usec, -sec, -mins, -hours, -mday, -mon, -year
	}
	for usec < 0 {
		usec += usPerSec
		sec--
	}
	for sec < 0 {
		sec += 60
		mins--
	}
	for mins < 0 {
		mins += 60
		hours--
	}
	for hours < 0 {
		hours += 24
		mday--
	}
	for mday < 0 {
		if neg {
			mday += int64(types.DaysInMonth(t1.year, t1.month))
		} else {
			mday += int64(types.DaysInMonth(t2.year, t2.month))
		}
		mon--
	}
	for mon < 0 {
		mon += 12
		year--
	}
	if neg {
		usec, sec, mins, hours, mday, mon, year = -usec, -sec, -mins, -hours, -mday, -mon, -year
	}
	return types.MakeDInterval(year*12+mon, mday, ((hours*60+mins)*60+sec)*usPerSec+usec)
}

// localWall returns the wall-clock microseconds of a timestamp or of a
// timestamptz in loc.
func localWall(d types.Datum, loc *time.Location) int64 {
	us := tsMicros(d)
	if _, ok := d.(types.DTimestampTZ); ok {
		us, _ = types.UTCToLocalMicros(us, loc)
	}
	return us
}
