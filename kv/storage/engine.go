package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Reader reads MVCC keys. Implementations are a whole Engine or a Batch
// (which sees its own uncommitted writes).
type Reader interface {
	// NewIter returns an iterator over [opts.LowerBound, opts.UpperBound)
	// user keys. The caller must Close it.
	NewIter(opts IterOptions) (*Iterator, error)
}

// Writer writes MVCC keys. Keys and values are copied; callers may reuse
// their buffers after the call returns.
type Writer interface {
	Put(key MVCCKey, value []byte) error
	Clear(key MVCCKey) error
}

// ReadWriter is both.
type ReadWriter interface {
	Reader
	Writer
}

// IterOptions bound an iteration by user keys. A nil bound is unbounded.
type IterOptions struct {
	LowerBound []byte
	UpperBound []byte
	// Prefix limits the iterator to the versions of one user key (the
	// first key passed to SeekGE) and enables bloom filters.
	Prefix bool
}

// Engine is a durable MVCC key-value store.
type Engine interface {
	Reader
	Writer
	// NewBatch returns an indexed batch: reads through it see its own
	// writes layered over the engine.
	NewBatch() *Batch
	// NewBatchFromRepr returns a write-only batch holding the writes of
	// repr (a Batch.Repr of any engine): replicas apply a leaseholder's
	// evaluated batch with it. More writes may be added before Commit.
	NewBatchFromRepr(repr []byte) (*Batch, error)
	// Close flushes nothing; durability comes from synced batch commits.
	Close() error
}

// Config configures a Pebble engine.
type Config struct {
	// Dir is the data directory. Empty with InMemory=false is invalid.
	Dir string
	// InMemory uses an in-memory filesystem (tests); data dies with the
	// process.
	InMemory bool
	// MemFS, when set, stores data on this in-memory filesystem, which can
	// simulate a power failure (tests). Implies InMemory.
	MemFS *MemFS
	// FS overrides the filesystem (fault injection in tests). Nil means the
	// OS filesystem, or a fresh mem FS when InMemory.
	FS vfs.FS
	// CacheBytes is the block cache size. Default 64 MiB.
	CacheBytes int64
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.CacheBytes == 0 {
		c.CacheBytes = 64 << 20
	}
	if c.MemFS != nil {
		c.InMemory = true
		c.FS = c.MemFS.fs
	}
	if c.FS == nil && c.InMemory {
		c.FS = vfs.NewMem()
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.Dir == "" && !c.InMemory {
		return errors.New("storage: Config.Dir is required for an on-disk engine")
	}
	return nil
}

// Pebble is the Pebble-backed Engine.
type Pebble struct {
	db *pebble.DB
}

var _ Engine = (*Pebble)(nil)

// Open opens (creating if needed) an engine.
func Open(cfg Config) (*Pebble, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cache := pebble.NewCache(cfg.CacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{
		Comparer: Comparer,
		Cache:    cache,
		FS:       cfg.FS,
		Logger:   quietLogger{},
	}
	if cfg.InMemory {
		opts.MemTableSize = 256 << 20
	}
	dir := cfg.Dir
	if cfg.InMemory && dir == "" {
		dir = "mem"
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	return &Pebble{db: db}, nil
}

// OpenInMem opens a fresh in-memory engine (tests, benchmarks).
func OpenInMem() *Pebble {
	p, err := Open(Config{InMemory: true})
	if err != nil {
		panic(err) // an in-memory open cannot fail except by bug
	}
	return p
}

// NewIter implements Reader.
func (p *Pebble) NewIter(opts IterOptions) (*Iterator, error) {
	return newIterator(p.db, opts)
}

// Put implements Writer; the write is not synced.
func (p *Pebble) Put(key MVCCKey, value []byte) error {
	return p.db.Set(EncodeMVCCKey(nil, key), value, pebble.NoSync)
}

// Clear implements Writer; the write is not synced.
func (p *Pebble) Clear(key MVCCKey) error {
	return p.db.Delete(EncodeMVCCKey(nil, key), pebble.NoSync)
}

// NewBatch implements Engine.
func (p *Pebble) NewBatch() *Batch {
	return &Batch{b: p.db.NewIndexedBatch()}
}

// NewBatchFromRepr implements Engine.
func (p *Pebble) NewBatchFromRepr(repr []byte) (*Batch, error) {
	b := p.db.NewBatch()
	// SetRepr keeps the slice; copy it so the caller may reuse its buffer.
	if err := b.SetRepr(append([]byte(nil), repr...)); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("storage: bad batch representation: %w", err)
	}
	return &Batch{b: b}, nil
}

// ApproximateSize estimates the bytes on disk of user keys in [start, end)
// (nil end: to the end of the keyspace).
func (p *Pebble) ApproximateSize(start, end []byte) (uint64, error) {
	lo := EncodeMVCCKey(nil, MVCCKey{Key: start})
	hi := []byte{0xff, 0xff, 0xff}
	if end != nil {
		hi = EncodeMVCCKey(nil, MVCCKey{Key: end})
	}
	return p.db.EstimateDiskUsage(lo, hi)
}

// Close implements Engine.
func (p *Pebble) Close() error { return p.db.Close() }

// RawPebble exposes the underlying DB for benchmarks that compare against
// raw Pebble. Nothing else may use it.
func (p *Pebble) RawPebble() *pebble.DB { return p.db }

// Batch is an indexed write batch. Not goroutine-safe.
type Batch struct {
	b      *pebble.Batch
	keyBuf []byte
}

// NewIter implements Reader over the engine with the batch's writes on top.
func (b *Batch) NewIter(opts IterOptions) (*Iterator, error) {
	return newIterator(b.b, opts)
}

// Put implements Writer.
func (b *Batch) Put(key MVCCKey, value []byte) error {
	b.keyBuf = EncodeMVCCKey(b.keyBuf[:0], key)
	return b.b.Set(b.keyBuf, value, nil)
}

// Clear implements Writer.
func (b *Batch) Clear(key MVCCKey) error {
	b.keyBuf = EncodeMVCCKey(b.keyBuf[:0], key)
	return b.b.Delete(b.keyBuf, nil)
}

// Empty reports whether the batch holds no writes.
func (b *Batch) Empty() bool { return b.b.Empty() }

// Repr returns the batch's writes in Pebble's batch encoding, valid until
// the batch is closed or written to again.
func (b *Batch) Repr() []byte { return b.b.Repr() }

// Len returns the encoded size of the batch.
func (b *Batch) Len() int { return b.b.Len() }

// Commit applies the batch atomically; with sync it returns only after the
// write-ahead log is fsynced, which also makes every earlier commit durable.
func (b *Batch) Commit(sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	return b.b.Commit(opts)
}

// Close releases the batch. It must be called exactly once.
func (b *Batch) Close() { _ = b.b.Close() }

type iterSource interface {
	NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
}

// Iterator walks MVCC keys in engine order: user keys ascending, and for each
// user key its unversioned slot, then versions newest first.
type Iterator struct {
	it     *pebble.Iterator
	seek   []byte
	lower  []byte
	upper  []byte
	err    error
	curKey MVCCKey
	valid  bool
}

func newIterator(src iterSource, opts IterOptions) (*Iterator, error) {
	i := &Iterator{}
	po := &pebble.IterOptions{}
	if opts.LowerBound != nil {
		i.lower = EncodeMVCCKey(nil, MVCCKey{Key: opts.LowerBound})
		po.LowerBound = i.lower
	}
	if opts.UpperBound != nil {
		i.upper = EncodeMVCCKey(nil, MVCCKey{Key: opts.UpperBound})
		po.UpperBound = i.upper
	}
	it, err := src.NewIter(po)
	if err != nil {
		return nil, fmt.Errorf("storage: new iterator: %w", err)
	}
	i.it = it
	return i, nil
}

func (i *Iterator) decode(ok bool) bool {
	i.valid = false
	if !ok {
		return false
	}
	k, err := DecodeMVCCKey(i.it.Key())
	if err != nil {
		i.err = err
		return false
	}
	i.curKey = k
	i.valid = true
	return true
}

// Valid reports whether the iterator is positioned at a key.
func (i *Iterator) Valid() bool { return i.valid }

// SeekGE positions at the first key >= k.
func (i *Iterator) SeekGE(k MVCCKey) bool {
	i.seek = EncodeMVCCKey(i.seek[:0], k)
	return i.decode(i.it.SeekGE(i.seek))
}

// SeekLT positions at the last key < k.
func (i *Iterator) SeekLT(k MVCCKey) bool {
	i.seek = EncodeMVCCKey(i.seek[:0], k)
	return i.decode(i.it.SeekLT(i.seek))
}

// First positions at the first key.
func (i *Iterator) First() bool { return i.decode(i.it.First()) }

// Last positions at the last key.
func (i *Iterator) Last() bool { return i.decode(i.it.Last()) }

// Next moves forward one key.
func (i *Iterator) Next() bool { return i.decode(i.it.Next()) }

// NextPrefix moves to the first key of the next user key.
func (i *Iterator) NextPrefix() bool { return i.decode(i.it.NextPrefix()) }

// Prev moves backward one key.
func (i *Iterator) Prev() bool { return i.decode(i.it.Prev()) }

// Key returns the current key. Key.Key aliases iterator memory valid until
// the next positioning call.
func (i *Iterator) Key() MVCCKey { return i.curKey }

// Value returns the current value, valid until the next positioning call.
func (i *Iterator) Value() ([]byte, error) { return i.it.ValueAndErr() }

// Err returns the first error met: a corrupt key or an I/O error.
func (i *Iterator) Err() error {
	if i.err != nil {
		return i.err
	}
	return i.it.Error()
}

// Close releases the iterator.
func (i *Iterator) Close() error { return i.it.Close() }

// MemFS is an in-memory filesystem that remembers what was synced, so a test
// can take the state a power failure would leave behind.
type MemFS struct{ fs *vfs.MemFS }

// NewMemFS returns an empty crashable filesystem.
func NewMemFS() *MemFS { return &MemFS{fs: vfs.NewCrashableMem()} }

// CrashClone returns the filesystem as a power failure at this instant might
// leave it: everything synced, plus each unsynced block or directory entry
// with probability keepUnsyncedPercent.
func (m *MemFS) CrashClone(keepUnsyncedPercent int, seed int64) *MemFS {
	return &MemFS{fs: m.fs.CrashClone(vfs.CrashCloneCfg{
		UnsyncedDataPercent: keepUnsyncedPercent,
		RNG:                 rand.New(rand.NewPCG(uint64(seed), 1)),
	})}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	fmt.Printf("pebble: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
