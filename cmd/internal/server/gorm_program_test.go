package server

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// The GORM program: the models below cover gorm.Model, unique and composite
// indexes, belongs-to, has-one, has-many and many-to-many. gpUserV2 is
// gpUserV1 plus one field, so migrating from one to the other must add
// exactly that column. Both map to the same tables.

type gpCompany struct {
	ID      uint   `gorm:"primaryKey"`
	Name    string `gorm:"size:64;uniqueIndex"`
	Country string `gorm:"size:2"`
	Visits  int
}

type gpProfile struct {
	ID     uint `gorm:"primaryKey"`
	UserID uint `gorm:"uniqueIndex"`
	Bio    string
}

type gpOrder struct {
	ID     uint   `gorm:"primaryKey"`
	UserID uint   `gorm:"index:idx_gp_orders_user_amount,priority:1"`
	Amount int    `gorm:"index:idx_gp_orders_user_amount,priority:2"`
	Item   string `gorm:"size:100;not null"`
}

type gpLanguage struct {
	ID   uint   `gorm:"primaryKey"`
	Code string `gorm:"size:16;uniqueIndex"`
}

type gpUserV1 struct {
	gorm.Model
	Name      string `gorm:"size:100;not null;index"`
	Email     string `gorm:"size:200;uniqueIndex"`
	Age       int    `gorm:"default:18"`
	Run       int    `gorm:"index"`
	CompanyID *uint
	Company   *gpCompany
	Profile   *gpProfile   `gorm:"foreignKey:UserID"`
	Orders    []gpOrder    `gorm:"foreignKey:UserID"`
	Languages []gpLanguage `gorm:"many2many:gp_user_languages;joinForeignKey:UserID;joinReferences:LanguageID"`
}

func (gpUserV1) TableName() string { return "gp_users" }

type gpUserV2 struct {
	gorm.Model
	Name      string `gorm:"size:100;not null;index"`
	Email     string `gorm:"size:200;uniqueIndex"`
	Age       int    `gorm:"default:18"`
	Run       int    `gorm:"index"`
	CompanyID *uint
	Company   *gpCompany
	Profile   *gpProfile   `gorm:"foreignKey:UserID"`
	Orders    []gpOrder    `gorm:"foreignKey:UserID"`
	Languages []gpLanguage `gorm:"many2many:gp_user_languages;joinForeignKey:UserID;joinReferences:LanguageID"`
	Nickname  string       `gorm:"size:50;default:'none'"`
}

func (gpUserV2) TableName() string { return "gp_users" }

// gpRun is one run of the program against a database that may hold the
// rows of earlier runs.
type gpRun struct {
	t       *testing.T
	db      *gorm.DB
	rec     *sqlRecorder
	run     int  // 1-based
	v2      bool // the model with the added field
	usersV2 bool // earlier runs used; only for messages
}

// TestGORMProgram runs the GORM program five times against one database:
// run 1 creates the schema (extended protocol, GORM defaults), run 2 finds
// it unchanged (simple protocol) and must issue no DDL, run 3 migrates the
// model with an added field (exactly one ALTER TABLE ADD COLUMN), runs 4
// (simple protocol) and 5 (GORM's PrepareStmt: named prepared statements
// reused across calls) find that unchanged too. Every run checks the rows
// of the earlier runs.
func TestGORMProgram(t *testing.T) {
	// OUTPOST_GORM_DSN runs the program against another server (an empty
	// PostgreSQL database) to check the program itself.
	target := os.Getenv("OUTPOST_GORM_DSN")
	if target == "" {
		target = dsn(startNode(t), "defaultdb")
	}
	for run := 1; run <= 5; run++ {
		simple := run%2 == 0
		v2 := run >= 3
		prepare := run == 5
		ok := t.Run(fmt.Sprintf("run%d_simple=%v_v2=%v_prepare=%v", run, simple, v2, prepare), func(t *testing.T) {
			rec := &sqlRecorder{Interface: logger.Discard}
			db, err := gorm.Open(postgres.New(postgres.Config{
				DSN:                  target,
				PreferSimpleProtocol: simple,
			}), &gorm.Config{
				Logger:      rec,
				PrepareStmt: prepare,
			})
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := db.DB()
			defer sqlDB.Close()
			r := &gpRun{t: t, db: db, rec: rec, run: run, v2: v2}
			r.migrate()
			r.crud()
		})
		if !ok {
			break
		}
	}
}

func (r *gpRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("run %d: "+format+"\nrecent SQL:\n%s", append(append([]any{}, r.run), append(args, strings.Join(lastN(r.rec.take(), 8), "\n"))...)...)
}

func lastN(ss []string, n int) []string {
	if len(ss) > n {
		return ss[len(ss)-n:]
	}
	return ss
}

func (r *gpRun) check(err error, what string) {
	r.t.Helper()
	if err != nil {
		r.fatalf("%s: %v", what, err)
	}
}

func (r *gpRun) user() any {
	if r.v2 {
		return &gpUserV2{}
	}
	return &gpUserV1{}
}

func (r *gpRun) migrate() {
	r.rec.take()
	models := []any{&gpCompany{}, r.user(), &gpProfile{}, &gpOrder{}, &gpLanguage{}}
	r.check(r.db.AutoMigrate(models...), "AutoMigrate")
	stmts := r.rec.take()
	var ddl []string
	for _, s := range stmts {
		u := strings.ToUpper(strings.TrimSpace(s))
		for _, kw := range []string{"CREATE ", "ALTER ", "DROP ", "COMMENT "} {
			if strings.HasPrefix(u, kw) {
				ddl = append(ddl, s)
			}
		}
	}
	switch r.run {
	case 1:
		for _, want := range []string{`CREATE TABLE "gp_companies"`, `CREATE TABLE "gp_users"`, `CREATE TABLE "gp_profiles"`,
			`CREATE TABLE "gp_orders"`, `CREATE TABLE "gp_languages"`, `CREATE TABLE "gp_user_languages"`,
			`CREATE INDEX IF NOT EXISTS "idx_gp_orders_user_amount" ON "gp_orders" ("user_id","amount")`,
			`CREATE UNIQUE INDEX IF NOT EXISTS "idx_gp_users_email" ON "gp_users" ("email")`} {
			if !containsPrefixExact(ddl, want) {
				r.t.Errorf("first AutoMigrate did not issue %s; DDL:\n%s", want, strings.Join(ddl, "\n"))
			}
		}
	case 3:
		// GORM names the join table's constraint after the Go struct
		// (gpUserV1 / gpUserV2), so with constraints on it adds one for
		// the renamed struct; the schema itself is unchanged.
		if len(ddl) == 2 && ddl[1] == `ALTER TABLE "gp_user_languages" ADD CONSTRAINT "fk_gp_user_languages_gp_user_v2" FOREIGN KEY ("user_id") REFERENCES "gp_users"("id")` {
			ddl = ddl[:1]
		}
		if len(ddl) != 1 || ddl[0] != `ALTER TABLE "gp_users" ADD "nickname" varchar(50) DEFAULT 'none'` {
			r.t.Errorf("AutoMigrate of the added field issued:\n%s", strings.Join(ddl, "\n"))
		}
	default:
		if len(ddl) != 0 {
			r.t.Errorf("AutoMigrate of an unchanged model issued DDL:\n%s", strings.Join(ddl, "\n"))
		}
	}
	m := r.db.Migrator()
	if !m.HasTable("gp_user_languages") || !m.HasIndex(&gpOrder{}, "idx_gp_orders_user_amount") || !m.HasColumn(r.user(), "run") {
		r.fatalf("migrator does not see the schema")
	}
	if got := m.HasColumn(&gpUserV2{}, "nickname"); got != r.v2 {
		r.fatalf("HasColumn(nickname) = %v", got)
	}
}

// prefix names this run's rows.
func (r *gpRun) name(s string) string { return fmt.Sprintf("r%d-%s", r.run, s) }

func (r *gpRun) crud() {
	db := r.db

	// Upsert: the company is shared by all runs; ON CONFLICT (name) DO
	// UPDATE bumps its visit counter.
	acme := gpCompany{Name: "acme", Country: "NZ", Visits: 1}
	r.check(db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.Assignments(map[string]any{"visits": gorm.Expr(`"gp_companies"."visits" + 1`), "country": gorm.Expr("EXCLUDED.country")}),
	}).Create(&acme).Error, "upsert company")
	var companies []gpCompany
	r.check(db.Where("name = ?", "acme").Find(&companies).Error, "find company")
	if len(companies) != 1 || companies[0].Visits != r.run || companies[0].Country != "NZ" {
		r.fatalf("after %d upserts the company is %+v", r.run, companies)
	}
	if acme.ID != companies[0].ID {
		r.fatalf("the upsert returned id %d, the row has %d", acme.ID, companies[0].ID)
	}
	// OnConflict UpdateAll, batch.
	batch := []gpCompany{{Name: r.name("co-a"), Country: "AU"}, {Name: "acme", Country: "US", Visits: r.run}}
	r.check(db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, UpdateAll: true}).Create(&batch).Error, "upsert UpdateAll")
	if batch[0].ID == 0 || batch[1].ID != acme.ID {
		r.fatalf("upsert batch ids %d %d (acme %d)", batch[0].ID, batch[1].ID, acme.ID)
	}
	var acme2 gpCompany
	r.check(db.First(&acme2, acme.ID).Error, "First company by id")
	if acme2.Country != "US" {
		r.fatalf("UpdateAll did not update: %+v", acme2)
	}
	// DO NOTHING: the row stays as it is.
	r.check(db.Clauses(clause.OnConflict{DoNothing: true}).Create(&gpCompany{Name: "acme", Country: "XX"}).Error, "DO NOTHING")
	r.check(db.First(&acme2, acme.ID).Error, "First company by id")
	if acme2.Country != "US" {
		r.fatalf("DO NOTHING changed the row: %+v", acme2)
	}

	// Languages are shared too: FirstOrCreate finds the first run's rows.
	var goLang, sqlLang gpLanguage
	r.check(db.Where(gpLanguage{Code: "go"}).FirstOrCreate(&goLang).Error, "FirstOrCreate go")
	r.check(db.Where(gpLanguage{Code: "sql"}).FirstOrCreate(&sqlLang).Error, "FirstOrCreate sql")
	var langCount int64
	r.check(db.Model(&gpLanguage{}).Count(&langCount).Error, "count languages")
	if langCount != 2 || goLang.ID == 0 || sqlLang.ID == 0 || goLang.ID == sqlLang.ID {
		r.fatalf("languages: %d rows, go=%d sql=%d", langCount, goLang.ID, sqlLang.ID)
	}

	if r.v2 {
		r.crudUsers(func() userOps { return v2Ops{r} })
	} else {
		r.crudUsers(func() userOps { return v1Ops{r} })
	}
	_ = goLang
}

// userOps hides which user model the run uses; the checks are the same.
type userOps interface {
	createFull(name string, age int, company uint, langs []gpLanguage) (id uint)
}

type v1Ops struct{ r *gpRun }
type v2Ops struct{ r *gpRun }

func (o v1Ops) createFull(name string, age int, company uint, langs []gpLanguage) uint {
	u := gpUserV1{Name: o.r.name(name), Email: o.r.name(name) + "@x.test", Age: age, Run: o.r.run, CompanyID: &company,
		Profile: &gpProfile{Bio: "bio of " + name}, Orders: []gpOrder{{Amount: 10, Item: "nail"}, {Amount: 25, Item: "hammer"}}, Languages: langs}
	o.r.check(o.r.db.Create(&u).Error, "Create user with associations")
	if u.ID == 0 || u.Profile.ID == 0 || u.Orders[0].ID == 0 || u.Orders[1].ID == 0 || u.Profile.UserID != u.ID || u.Orders[1].UserID != u.ID {
		o.r.fatalf("ids not returned: %+v", u)
	}
	return u.ID
}

func (o v2Ops) createFull(name string, age int, company uint, langs []gpLanguage) uint {
	u := gpUserV2{Name: o.r.name(name), Email: o.r.name(name) + "@x.test", Age: age, Run: o.r.run, CompanyID: &company, Nickname: "nick-" + name,
		Profile: &gpProfile{Bio: "bio of " + name}, Orders: []gpOrder{{Amount: 10, Item: "nail"}, {Amount: 25, Item: "hammer"}}, Languages: langs}
	o.r.check(o.r.db.Create(&u).Error, "Create user with associations")
	if u.ID == 0 || u.Profile.ID == 0 || u.Orders[0].ID == 0 || u.Orders[1].ID == 0 || u.Profile.UserID != u.ID || u.Orders[1].UserID != u.ID {
		o.r.fatalf("ids not returned: %+v", u)
	}
	var back gpUserV2
	o.r.check(o.r.db.First(&back, u.ID).Error, "First v2")
	if back.Nickname != "nick-"+name {
		o.r.fatalf("the added column did not round-trip: %+v", back)
	}
	return u.ID
}

// crudUsers runs against gp_users through gpUserV1 (the added column, if
// any, is left to its default by V1 and checked through V2 above).
func (r *gpRun) crudUsers(ops func() userOps) {
	db := r.db
	var acme, goLang, sqlLang gpCompany
	_ = goLang
	_ = sqlLang
	r.check(db.Where("name = ?", "acme").First(&acme).Error, "acme")
	var langs []gpLanguage
	r.check(db.Order("code").Find(&langs).Error, "languages")

	// Single creates with every kind of association.
	aliceID := ops().createFull("alice", 30, acme.ID, langs)
	bobID := ops().createFull("bob", 40, acme.ID, langs[:1])

	// Batches: ids come back for every row.
	batch := make([]gpUserV1, 5)
	for i := range batch {
		batch[i] = gpUserV1{Name: r.name(fmt.Sprintf("n%d", i)), Email: r.name(fmt.Sprintf("n%d", i)) + "@x.test", Age: 20 + i, Run: r.run}
	}
	r.check(db.CreateInBatches(&batch, 2).Error, "CreateInBatches")
	seen := map[uint]bool{aliceID: true, bobID: true}
	for _, u := range batch {
		if u.ID == 0 || seen[u.ID] {
			r.fatalf("batch ids not returned or repeated: %+v", batch)
		}
		seen[u.ID] = true
	}
	var defAge gpUserV1
	r.check(db.Create(&gpUserV1{Name: r.name("dflt"), Email: r.name("dflt") + "@x.test", Run: r.run}).Error, "create with default")
	r.check(db.Where("email = ?", r.name("dflt")+"@x.test").First(&defAge).Error, "First dflt")
	// Age 0 is GORM's zero value, so the column default applies.
	if defAge.Age != 18 {
		r.fatalf("default age %d", defAge.Age)
	}

	// Queries over this run's rows.
	var first gpUserV1
	r.check(db.Where("run = ? AND name LIKE ?", r.run, r.name("n%")).Order("age desc").First(&first).Error, "First ordered")
	if first.Name != r.name("n4") {
		r.fatalf("First by age desc: %+v", first)
	}
	var page []gpUserV1
	r.check(db.Where("run = ?", r.run).Where("age BETWEEN ? AND ?", 20, 24).Order("age").Limit(2).Offset(1).Find(&page).Error, "Limit/Offset")
	if len(page) != 2 || page[0].Name != r.name("n1") || page[1].Name != r.name("n2") {
		r.fatalf("page: %+v", page)
	}
	var names []string
	r.check(db.Model(&gpUserV1{}).Where("run = ? AND age >= ?", r.run, 30).Order("name").Pluck("name", &names).Error, "Pluck")
	if strings.Join(names, ",") != r.name("alice")+","+r.name("bob") {
		r.fatalf("Pluck: %v", names)
	}
	var n int64
	r.check(db.Model(&gpUserV1{}).Where("run = ?", r.run).Count(&n).Error, "Count")
	if n != 8 {
		r.fatalf("Count this run = %d", n)
	}
	var ids []uint
	r.check(db.Model(&gpUserV1{}).Where("id IN ?", []uint{aliceID, bobID}).Pluck("id", &ids).Error, "IN list")
	if len(ids) != 2 {
		r.fatalf("IN: %v", ids)
	}
	var distinct int64
	r.check(db.Model(&gpUserV1{}).Distinct("run").Count(&distinct).Error, "Count distinct")
	if distinct != int64(r.run) {
		r.fatalf("distinct runs %d", distinct)
	}
	var grouped []struct {
		Run int
		N   int
	}
	r.check(db.Model(&gpUserV1{}).Select("run, count(*) AS n").Group("run").Order("run").Scan(&grouped).Error, "Group")
	if len(grouped) != r.run {
		r.fatalf("grouped %+v", grouped)
	}

	// Earlier runs' rows are intact (each run soft-deletes one user).
	for k := 1; k < r.run; k++ {
		var live, all int64
		r.check(db.Model(&gpUserV1{}).Where("run = ?", k).Count(&live).Error, "count earlier run")
		r.check(db.Unscoped().Model(&gpUserV1{}).Where("run = ?", k).Count(&all).Error, "count earlier run unscoped")
		if live != 7 || all != 8 {
			r.fatalf("run %d left %d live / %d rows", k, live, all)
		}
		var old gpUserV1
		r.check(db.Preload("Orders").Preload("Languages").Where("email = ?", fmt.Sprintf("r%d-alice@x.test", k)).First(&old).Error, "earlier alice")
		if len(old.Orders) != 2 || len(old.Languages) != 2 || old.Age != 31 {
			r.fatalf("earlier alice %+v", old)
		}
	}

	// Updates and Save.
	r.check(db.Model(&gpUserV1{}).Where("id = ?", aliceID).Updates(map[string]any{"age": gorm.Expr("age + ?", 1)}).Error, "Updates map")
	var alice gpUserV1
	r.check(db.First(&alice, aliceID).Error, "First alice")
	if alice.Age != 31 {
		r.fatalf("Updates: %+v", alice)
	}
	res := db.Model(&alice).Updates(gpUserV1{Name: r.name("alice")})
	r.check(res.Error, "Updates struct")
	if res.RowsAffected != 1 || !alice.UpdatedAt.After(alice.CreatedAt) && !alice.UpdatedAt.Equal(alice.CreatedAt) {
		r.fatalf("Updates struct affected %d", res.RowsAffected)
	}
	var bob gpUserV1
	r.check(db.First(&bob, bobID).Error, "First bob")
	bob.Age = 41
	r.check(db.Save(&bob).Error, "Save")
	var bob2 gpUserV1
	r.check(db.First(&bob2, bobID).Error, "First bob again")
	if bob2.Age != 41 || bob2.Email != bob.Email {
		r.fatalf("Save: %+v", bob2)
	}
	res = db.Model(&gpUserV1{}).Where("run = ? AND name LIKE ?", r.run, r.name("n%")).Update("age", gorm.Expr("age * 2"))
	r.check(res.Error, "Update many")
	if res.RowsAffected != 5 {
		r.fatalf("Update many affected %d", res.RowsAffected)
	}

	// Soft delete and Unscoped.
	victim := batch[0].ID
	res = db.Delete(&gpUserV1{}, victim)
	r.check(res.Error, "soft Delete")
	if res.RowsAffected != 1 {
		r.fatalf("soft delete affected %d", res.RowsAffected)
	}
	var gone gpUserV1
	if err := db.First(&gone, victim).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		r.fatalf("soft-deleted row still found: %v %+v", err, gone)
	}
	r.check(db.Unscoped().First(&gone, victim).Error, "Unscoped First")
	if !gone.DeletedAt.Valid || time.Since(gone.DeletedAt.Time) > time.Hour {
		r.fatalf("deleted_at %+v", gone.DeletedAt)
	}
	r.check(db.Model(&gpUserV1{}).Where("run = ?", r.run).Count(&n).Error, "Count after delete")
	if n != 7 {
		r.fatalf("Count after soft delete = %d", n)
	}
	// A hard delete of a throwaway row.
	r.check(db.Unscoped().Where("email = ?", r.name("dflt")+"@x.test").Delete(&gpUserV1{}).Error, "hard delete")
	r.check(db.Unscoped().Model(&gpUserV1{}).Where("email = ?", r.name("dflt")+"@x.test").Count(&n).Error, "count hard deleted")
	if n != 0 {
		r.fatalf("hard delete left %d", n)
	}
	// Restore the count invariant (8 rows per run, 7 live) with a new row.
	r.check(db.Create(&gpUserV1{Name: r.name("late"), Email: r.name("late") + "@x.test", Run: r.run, Age: 99}).Error, "create late")

	// Preload every association.
	var loaded gpUserV1
	r.check(db.Preload("Company").Preload("Profile").Preload("Orders", func(tx *gorm.DB) *gorm.DB { return tx.Order("amount desc") }).
		Preload("Languages").First(&loaded, aliceID).Error, "Preload")
	if loaded.Company == nil || loaded.Company.Name != "acme" || loaded.Profile == nil || loaded.Profile.Bio != "bio of alice" ||
		len(loaded.Orders) != 2 || loaded.Orders[0].Amount != 25 || len(loaded.Languages) != 2 {
		r.fatalf("Preload: %+v", loaded)
	}
	var many []gpUserV1
	r.check(db.Preload("Orders").Where("run = ? AND age >= ?", r.run, 30).Order("id").Find(&many).Error, "Preload many")
	if len(many) != 7 || len(many[0].Orders) != 2 || len(many[1].Orders) != 2 || len(many[2].Orders) != 0 {
		r.fatalf("Preload many: %d users", len(many))
	}

	// Joins: belongs-to and has-one through LEFT JOIN with quoted aliases.
	var joined []gpUserV1
	r.check(db.Joins("Company").Joins("Profile").Where(`"Company"."name" = ? AND gp_users.run = ?`, "acme", r.run).Order("gp_users.id").Find(&joined).Error, "Joins")
	if len(joined) != 2 || joined[0].Company == nil || joined[0].Company.ID != acme.ID || joined[0].Profile == nil || joined[0].Profile.Bio != "bio of alice" {
		r.fatalf("Joins: %+v", joined)
	}
	var joinCount int64
	r.check(db.Model(&gpUserV1{}).Joins("JOIN gp_orders ON gp_orders.user_id = gp_users.id").Where("gp_users.run = ? AND gp_orders.amount > ?", r.run, 20).Count(&joinCount).Error, "Joins count")
	if joinCount != 2 {
		r.fatalf("join count %d", joinCount)
	}
	var total struct{ Sum int }
	r.check(db.Model(&gpOrder{}).Select("sum(amount) AS sum").Where("user_id IN (?)", db.Model(&gpUserV1{}).Select("id").Where("run = ?", r.run)).Scan(&total).Error, "subquery")
	if total.Sum != 70 {
		r.fatalf("sum via subquery %d", total.Sum)
	}
	// Association API on many-to-many.
	var langsOfBob []gpLanguage
	r.check(db.Model(&gpUserV1{Model: gorm.Model{ID: bobID}}).Association("Languages").Find(&langsOfBob), "Association Find")
	if len(langsOfBob) != 1 || langsOfBob[0].Code != "go" {
		r.fatalf("bob's languages %+v", langsOfBob)
	}
	if c := db.Model(&gpUserV1{Model: gorm.Model{ID: aliceID}}).Association("Languages").Count(); c != 2 {
		r.fatalf("alice's language count %d", c)
	}

	// Transactions: an error rolls back; a nested failure rolls back to
	// its savepoint only.
	errBoom := errors.New("boom")
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gpUserV1{Name: r.name("ghost"), Email: r.name("ghost") + "@x.test", Run: r.run}).Error; err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		r.fatalf("Transaction returned %v", err)
	}
	r.check(db.Unscoped().Model(&gpUserV1{}).Where("name = ?", r.name("ghost")).Count(&n).Error, "count ghost")
	if n != 0 {
		r.fatalf("rolled-back row is visible")
	}
	r.check(db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&gpUserV1{}).Where("id = ?", bobID).Update("age", 42).Error; err != nil {
			return err
		}
		inner := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Model(&gpUserV1{}).Where("id = ?", bobID).Update("age", 1000).Error; err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(inner, errBoom) {
			return fmt.Errorf("nested transaction returned %v", inner)
		}
		// A unique violation inside the transaction, caught by a savepoint.
		dup := tx.Transaction(func(tx2 *gorm.DB) error {
			return tx2.Create(&gpUserV1{Name: "dup", Email: r.name("alice") + "@x.test", Run: r.run}).Error
		})
		if dup == nil || !strings.Contains(dup.Error(), "23505") {
			return fmt.Errorf("duplicate email gave %v", dup)
		}
		return nil
	}), "nested Transaction")
	r.check(db.First(&bob2, bobID).Error, "bob after txn")
	if bob2.Age != 42 {
		r.fatalf("after the nested rollback bob's age is %d", bob2.Age)
	}
	// Manual Begin/Rollback.
	tx := db.Begin()
	r.check(tx.Error, "Begin")
	r.check(tx.Model(&gpUserV1{}).Where("id = ?", bobID).Update("age", 7).Error, "update in tx")
	r.check(tx.Rollback().Error, "Rollback")
	r.check(db.First(&bob2, bobID).Error, "bob after rollback")
	if bob2.Age != 42 {
		r.fatalf("after Rollback bob's age is %d", bob2.Age)
	}

	// Upsert of users on the unique email: existing rows are updated,
	// new ones inserted, and ids come back for both.
	up := []gpUserV1{
		{Name: r.name("alice"), Email: r.name("alice") + "@x.test", Age: 31, Run: r.run},
		{Name: r.name("carol"), Email: r.name("carol") + "@x.test", Age: 50, Run: r.run},
	}
	r.check(db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "email"}}, DoUpdates: clause.AssignmentColumns([]string{"age", "updated_at"})}).Create(&up).Error, "upsert users")
	if up[0].ID != aliceID || up[1].ID == 0 {
		r.fatalf("upsert ids %d %d (alice %d)", up[0].ID, up[1].ID, aliceID)
	}
	r.check(db.Unscoped().Delete(&gpUserV1{}, up[1].ID).Error, "delete carol")
}

func containsPrefixExact(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestGORMForeignKeys checks that GORM's association constraints exist as
// real, enforced FOREIGN KEY constraints: AutoMigrate creates them, a
// second AutoMigrate sees them (information_schema) and issues no DDL, and
// a dangling child or the delete of a referenced parent fails with 23503.
// OUTPOST_GORM_DSN runs it against another server (an empty PostgreSQL
// database) to check the expectations.
func TestGORMForeignKeys(t *testing.T) {
	target := os.Getenv("OUTPOST_GORM_DSN")
	if target == "" {
		target = dsn(startNode(t), "defaultdb")
	}
	rec := &sqlRecorder{Interface: logger.Discard}
	db, err := gorm.Open(postgres.Open(target), &gorm.Config{Logger: rec})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	models := []any{&gpCompany{}, &gpUserV1{}, &gpProfile{}, &gpOrder{}, &gpLanguage{}}
	if err := db.AutoMigrate(models...); err != nil {
		t.Fatal(err)
	}
	var fks []string
	if err := db.Raw(`SELECT table_name || '.' || constraint_name FROM information_schema.table_constraints
		WHERE constraint_type = 'FOREIGN KEY' ORDER BY 1`).Scan(&fks).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{"gp_orders.fk_gp_users_orders", "gp_profiles.fk_gp_users_profile",
		"gp_user_languages.fk_gp_user_languages_gp_language", "gp_user_languages.fk_gp_user_languages_gp_user_v1",
		"gp_users.fk_gp_users_company"}
	if strings.Join(fks, " ") != strings.Join(want, " ") {
		t.Fatalf("foreign keys after AutoMigrate: %v, want %v", fks, want)
	}
	rec.take()
	if err := db.AutoMigrate(models...); err != nil {
		t.Fatal(err)
	}
	for _, s := range rec.take() {
		u := strings.ToUpper(strings.TrimSpace(s))
		if strings.HasPrefix(u, "CREATE ") || strings.HasPrefix(u, "ALTER ") {
			t.Errorf("second AutoMigrate issued DDL: %s", s)
		}
	}
	for _, m := range []struct {
		model any
		name  string
	}{{&gpUserV1{}, "Orders"}, {&gpUserV1{}, "Company"}, {&gpUserV1{}, "Profile"}} {
		if !db.Migrator().HasConstraint(m.model, m.name) {
			t.Errorf("HasConstraint(%T, %s) = false", m.model, m.name)
		}
	}

	u := gpUserV1{Name: "fk", Email: "fk@x.test", Company: &gpCompany{Name: "fkco"},
		Orders: []gpOrder{{Item: "a", Amount: 1}}}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	err = db.Create(&gpOrder{UserID: u.ID + 1000, Item: "dangling"}).Error
	if code := pgCode(err); code != "23503" || !strings.Contains(err.Error(), `violates foreign key constraint "fk_gp_users_orders"`) {
		t.Fatalf("order of a missing user: %v (SQLSTATE %q)", err, code)
	}
	err = db.Unscoped().Delete(&gpUserV1{}, u.ID).Error
	if code := pgCode(err); code != "23503" || !strings.Contains(err.Error(), `update or delete on table "gp_users" violates foreign key constraint "fk_gp_users_orders" on table "gp_orders"`) {
		t.Fatalf("hard delete of a user with orders: %v (SQLSTATE %q)", err, code)
	}
	err = db.Delete(&gpCompany{}, *u.CompanyID).Error
	if code := pgCode(err); code != "23503" {
		t.Fatalf("delete of a referenced company: %v (SQLSTATE %q)", err, code)
	}
	// Children first, then the parent: allowed.
	if err := db.Where("user_id = ?", u.ID).Delete(&gpOrder{}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Unscoped().Delete(&gpUserV1{}, u.ID).Error; err != nil {
		t.Fatalf("hard delete once the orders are gone: %v", err)
	}
}
