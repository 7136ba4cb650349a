package server

import (
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// gmThing has the column types GORM maps most often. gmThingV2 is the same
// table after a model change: Label grows from 10 to 40 characters and
// becomes NOT NULL, Score loses its NOT NULL.
type gmThing struct {
	ID    uint `gorm:"primaryKey"`
	Flag  bool
	Blob  []byte
	When  *time.Time
	Score float64 `gorm:"not null;default:0"`
	Note  sql.NullString
	Tiny  int16
	Label string `gorm:"size:10;index"`
}

func (gmThing) TableName() string { return "gm_things" }

type gmThingV2 struct {
	ID    uint `gorm:"primaryKey"`
	Flag  bool
	Blob  []byte
	When  *time.Time
	Score float64 `gorm:"default:0"`
	Note  sql.NullString
	Tiny  int16
	Label string `gorm:"size:40;not null;index"`
}

func (gmThingV2) TableName() string { return "gm_things" }

// TestGORMMigrator covers the Migrator API and the statements GORM issues
// beyond plain CRUD: AutoMigrate of a changed field (ALTER COLUMN TYPE and
// SET/DROP NOT NULL), RenameColumn, RenameIndex, DropIndex, DropColumn,
// row locking, RETURNING on UPDATE/DELETE, FindInBatches, named
// arguments, subqueries in FROM.
func TestGORMMigrator(t *testing.T) {
	target := os.Getenv("OUTPOST_GORM_DSN")
	if target == "" {
		target = dsn(startNode(t), "defaultdb")
	}
	rec := &sqlRecorder{Interface: logger.Discard}
	db, err := gorm.Open(postgres.Open(target), &gorm.Config{Logger: rec})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, strings.Join(lastN(rec.take(), 3), "\n"))
		}
	}
	m := db.Migrator()
	check("AutoMigrate", db.AutoMigrate(&gmThing{}))
	now := time.Now().UTC().Truncate(time.Microsecond)
	things := []gmThing{
		{Flag: true, Blob: []byte{0, 1, 255}, When: &now, Score: 1.5, Note: sql.NullString{String: "x", Valid: true}, Tiny: 3, Label: "a"},
		{Label: "b"},
	}
	check("Create", db.Create(&things).Error)
	var back gmThing
	check("First", db.First(&back, things[0].ID).Error)
	if !back.Flag || string(back.Blob) != "\x00\x01\xff" || back.When == nil || !back.When.Equal(now) || back.Note.String != "x" || back.Tiny != 3 {
		t.Fatalf("round trip: %+v", back)
	}

	// The model changes: one AutoMigrate alters the column in place.
	rec.take()
	check("AutoMigrate V2", db.AutoMigrate(&gmThingV2{}))
	var ddl []string
	for _, s := range rec.take() {
		if strings.HasPrefix(s, "ALTER") || strings.HasPrefix(s, "CREATE") {
			ddl = append(ddl, s)
		}
	}
	want := []string{
		`ALTER TABLE "gm_things" ALTER COLUMN "score" DROP NOT NULL`,
		`ALTER TABLE "gm_things" ALTER COLUMN "label" TYPE varchar(40) USING "label"::varchar(40)`,
		`ALTER TABLE "gm_things" ALTER COLUMN "label" SET NOT NULL`,
	}
	if strings.Join(ddl, "\n") != strings.Join(want, "\n") {
		t.Errorf("AutoMigrate of the changed model issued:\n%s\nwant:\n%s", strings.Join(ddl, "\n"), strings.Join(want, "\n"))
	}
	check("AutoMigrate V2 again", db.AutoMigrate(&gmThingV2{}))
	for _, s := range rec.take() {
		if strings.HasPrefix(s, "ALTER") || strings.HasPrefix(s, "CREATE") {
			t.Errorf("AutoMigrate of the unchanged model issued %s", s)
		}
	}
	long := strings.Repeat("z", 30)
	check("Create long label", db.Create(&gmThingV2{Label: long}).Error)
	var n int64
	check("Count by label", db.Model(&gmThingV2{}).Where("label = ?", long).Count(&n).Error)
	if n != 1 {
		t.Fatalf("the index on the altered column finds %d rows", n)
	}
	if err := db.Exec(`INSERT INTO gm_things (label) VALUES (NULL)`).Error; pgCode(err) != "23502" {
		t.Errorf("NULL label after SET NOT NULL: %v", err)
	}
	check("NULL score", db.Exec(`INSERT INTO gm_things (label, score) VALUES ('n', NULL)`).Error)

	// Migrator operations.
	check("RenameColumn", m.RenameColumn(&gmThingV2{}, "tiny", "small"))
	if m.HasColumn(&gmThingV2{}, "tiny") || !m.HasColumn(&gmThingV2{}, "small") {
		t.Error("RenameColumn not visible")
	}
	check("RenameColumn back", m.RenameColumn(&gmThingV2{}, "small", "tiny"))
	check("RenameIndex", m.RenameIndex(&gmThingV2{}, "idx_gm_things_label", "idx_gm_label"))
	if m.HasIndex(&gmThingV2{}, "idx_gm_things_label") || !m.HasIndex(&gmThingV2{}, "idx_gm_label") {
		t.Error("RenameIndex not visible")
	}
	check("DropIndex", m.DropIndex(&gmThingV2{}, "idx_gm_label"))
	check("CreateIndex", m.CreateIndex(&gmThingV2{}, "Label"))
	if !m.HasIndex(&gmThingV2{}, "idx_gm_things_label") {
		t.Error("CreateIndex not visible")
	}
	check("AddColumn", db.Exec(`ALTER TABLE gm_things ADD COLUMN extra int`).Error)
	check("DropColumn", m.DropColumn(&gmThingV2{}, "extra"))
	if m.HasColumn(&gmThingV2{}, "extra") {
		t.Error("DropColumn not visible")
	}

	// Statements beyond plain CRUD.
	var locked []gmThingV2
	check("FOR UPDATE", db.Clauses(clause.Locking{Strength: "UPDATE"}).Where("flag").Find(&locked).Error)
	if len(locked) != 1 {
		t.Errorf("FOR UPDATE found %d", len(locked))
	}
	check("FOR SHARE NOWAIT", db.Clauses(clause.Locking{Strength: "SHARE", Options: "NOWAIT"}).Find(&locked).Error)
	var updated []gmThingV2
	check("UPDATE RETURNING", db.Model(&updated).Clauses(clause.Returning{}).Where("label IN ?", []string{"a", "b"}).Update("score", 2.5).Error)
	if len(updated) != 2 || updated[0].Score != 2.5 || updated[0].Label == "" {
		t.Errorf("UPDATE RETURNING gave %+v", updated)
	}
	var deleted []gmThingV2
	check("DELETE RETURNING", db.Clauses(clause.Returning{Columns: []clause.Column{{Name: "id"}, {Name: "label"}}}).Where("label = ?", "n").Delete(&deleted).Error)
	if len(deleted) != 1 || deleted[0].Label != "n" || deleted[0].ID == 0 {
		t.Errorf("DELETE RETURNING gave %+v", deleted)
	}
	batches := 0
	var batch []gmThingV2
	check("FindInBatches", db.Order("id").FindInBatches(&batch, 2, func(tx *gorm.DB, b int) error { batches++; return nil }).Error)
	if batches != 2 {
		t.Errorf("FindInBatches ran %d batches over 3 rows", batches)
	}
	var rows []struct {
		ID    uint
		Score float64
	}
	check("named args", db.Raw("SELECT id, score FROM gm_things WHERE score > @s AND label <> @l ORDER BY id", sql.Named("s", 1), sql.Named("l", "")).Scan(&rows).Error)
	if len(rows) != 2 {
		t.Errorf("named args: %+v", rows)
	}
	rows = nil
	check("subquery in FROM", db.Table("(?) AS u", db.Model(&gmThingV2{}).Select("id, score")).Where("u.score > ?", 2).Find(&rows).Error)
	if len(rows) != 2 {
		t.Errorf("subquery in FROM: %+v", rows)
	}
	var groups int64
	check("Count of groups", db.Model(&gmThingV2{}).Select("flag").Group("flag").Having("count(*) > ?", 0).Count(&groups).Error)
	if groups != 2 {
		t.Errorf("Count over GROUP BY gave %d", groups)
	}
	check("DropTable", m.DropTable(&gmThingV2{}))
	if m.HasTable(&gmThingV2{}) {
		t.Error("DropTable not visible")
	}
}
