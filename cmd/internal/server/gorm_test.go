package server

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormProduct exercises what GORM's postgres migrator inspects: gorm.Model
// (serial primary key, timestamps, soft-delete index), a unique index, a
// composite index, sizes, defaults and NOT NULL.
type gormProduct struct {
	gorm.Model
	Code     string  `gorm:"size:32;uniqueIndex"`
	Name     string  `gorm:"not null;index:idx_name_price,priority:1"`
	Price    float64 `gorm:"index:idx_name_price,priority:2"`
	Stock    int     `gorm:"default:0"`
	Category string  `gorm:"size:64;default:'misc'"`
}

// sqlRecorder is a GORM logger that keeps the SQL statements it sees.
type sqlRecorder struct {
	logger.Interface
	mu   sync.Mutex
	sqls []string
}

func (r *sqlRecorder) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	sql, _ := fc()
	r.mu.Lock()
	r.sqls = append(r.sqls, sql)
	r.mu.Unlock()
}

func (r *sqlRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sqls
	r.sqls = nil
	return out
}

// TestGORMAutoMigrate: GORM's AutoMigrate creates the schema, and a second
// run finds everything in place through pg_catalog/information_schema and
// issues no DDL at all.
func TestGORMAutoMigrate(t *testing.T) {
	srv := startNode(t)
	rec := &sqlRecorder{Interface: logger.Discard}
	db, err := gorm.Open(postgres.Open(dsn(srv, "defaultdb")), &gorm.Config{Logger: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&gormProduct{}); err != nil {
		t.Fatalf("first AutoMigrate: %v\n%s", err, strings.Join(rec.take(), "\n"))
	}
	first := rec.take()
	if !containsPrefix(first, "CREATE TABLE") {
		t.Fatalf("first AutoMigrate created no table:\n%s", strings.Join(first, "\n"))
	}
	if err := db.AutoMigrate(&gormProduct{}); err != nil {
		t.Fatalf("second AutoMigrate: %v\n%s", err, strings.Join(rec.take(), "\n"))
	}
	second := rec.take()
	if len(second) == 0 {
		t.Fatal("the second AutoMigrate inspected nothing")
	}
	t.Logf("second AutoMigrate:\n%s", strings.Join(second, "\n"))
	for _, s := range second {
		u := strings.ToUpper(strings.TrimSpace(s))
		for _, ddl := range []string{"CREATE ", "ALTER ", "DROP ", "COMMENT "} {
			if strings.HasPrefix(u, ddl) {
				t.Errorf("second AutoMigrate issued DDL: %s", s)
			}
		}
	}
	m := db.Migrator()
	for _, idx := range []string{"idx_gorm_products_code", "idx_name_price", "idx_gorm_products_deleted_at"} {
		if !m.HasIndex(&gormProduct{}, idx) {
			t.Errorf("HasIndex(%s) = false", idx)
		}
	}
	if !m.HasColumn(&gormProduct{}, "category") || m.HasColumn(&gormProduct{}, "nope") {
		t.Error("HasColumn is wrong")
	}
	tables, err := m.GetTables()
	if err != nil || strings.Join(tables, ",") != "gorm_products" {
		t.Errorf("GetTables: %v, %v", tables, err)
	}
	idxs, err := m.GetIndexes(&gormProduct{})
	if err != nil {
		t.Fatal(err)
	}
	var idxDesc []string
	for _, ix := range idxs {
		unique, _ := ix.Unique()
		idxDesc = append(idxDesc, fmt.Sprintf("%s%v unique=%v", ix.Name(), ix.Columns(), unique))
	}
	sort.Strings(idxDesc)
	if got := strings.Join(idxDesc, "; "); got != "idx_gorm_products_code[code] unique=true; idx_gorm_products_deleted_at[deleted_at] unique=false; idx_name_price[name price] unique=false" {
		t.Errorf("GetIndexes: %s", got)
	}
	cols, err := m.ColumnTypes(&gormProduct{})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, c := range cols {
		types[c.Name()] = c.DatabaseTypeName()
	}
	if types["code"] != "varchar" || types["price"] != "numeric" && types["price"] != "float8" || types["id"] != "int8" {
		t.Errorf("column types %v", types)
	}
	// The model works for plain CRUD.
	p := gormProduct{Code: "A1", Name: "anvil", Price: 9.5}
	if err := db.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	var got gormProduct
	if err := db.First(&got, "code = ?", "A1").Error; err != nil || got.Category != "misc" || got.ID != p.ID {
		t.Fatalf("First: %+v, %v", got, err)
	}
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(s)), prefix) {
			return true
		}
	}
	return false
}
