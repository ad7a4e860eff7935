package dynamo

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.BudgetHoldService = (*DB)(nil)

// budgetHoldsTable keeps each caller's budget in one item ("key:NAME" or
// "user:ID"): the period it counts (since), what the caller spent in it,
// and the holds of calls in flight, with a version every change moves.
// Each change is a put conditional on the version read, so that checking
// the budget and holding it are one step, whichever process does it.
var budgetHoldsTable = tableDef{kind: "budget_holds", hash: keyAttr{"caller", types.ScalarAttributeTypeS}}

type budgetItem struct {
	Caller string          `dynamodbav:"caller"`
	Ver    int64           `dynamodbav:"ver"`
	Since  int64           `dynamodbav:"since"`
	Spent  float64         `dynamodbav:"spent"`
	Holds  map[string]hold `dynamodbav:"holds,omitempty"` // by hold id
}

type hold struct {
	Amount float64 `dynamodbav:"amount"`
	Holder string  `dynamodbav:"holder"`
}

// callerID names who's budget item.
func callerID(who claudebridge.Caller) string {
	if who.UserID != 0 {
		return "user:" + strconv.FormatInt(who.UserID, 10)
	}
	return "key:" + who.Key
}

// HoldBudget checks and holds worst of who's budget. What who spent in the
// period is the ledger's sum, read at the period's first hold; then each
// settled hold adds what it cost. Holds of holders whose lease lapsed are
// dropped as the item is written.
func (db *DB) HoldBudget(ctx context.Context, who claudebridge.Caller, since time.Time, limit, worst float64, holder string, now time.Time) (int64, float64, bool, error) {
	table := db.table(budgetHoldsTable.kind)
	caller := callerID(who)
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return 0, 0, false, err
		}
		var it budgetItem
		cond, values, ver, err := db.versioned(ctx, table, "caller", caller, &it)
		if err != nil {
			return 0, 0, false, internal("hold budget", err)
		}
		changed := false
		spent := it.Spent
		if ver == 0 || it.Since != unixMicros(since) {
			if who.UserID != 0 {
				spent, err = db.SpentByUser(ctx, who.UserID, since)
			} else {
				spent, err = db.SpentByKey(ctx, who.Key, since)
			}
			if err != nil {
				return 0, 0, false, err
			}
			if ver == 0 || it.Since < unixMicros(since) { // a later period replaces the one kept
				it.Since, it.Spent, changed = unixMicros(since), spent, true
			}
		}
		var holders []string
		for _, h := range it.Holds {
			holders = append(holders, h.Holder)
		}
		live, err := db.liveHolders(ctx, holders, now)
		if err != nil {
			return 0, 0, false, internal("hold budget", err)
		}
		held := spent
		// In the order of their ids, so that the same holds sum the same.
		for _, id := range slices.Sorted(maps.Keys(it.Holds)) {
			if h := it.Holds[id]; live[h.Holder] {
				held += h.Amount
			} else {
				delete(it.Holds, id)
				changed = true
			}
		}
		it.Caller, it.Ver = caller, ver+1
		if held+worst > limit {
			if changed { // the period's spending, if new, is kept; a lost race changes nothing
				if _, err := db.putVersioned(ctx, table, it, cond, values); err != nil {
					return 0, 0, false, internal("hold budget", err)
				}
			}
			return 0, held, false, nil
		}
		id := rand.Int64N(1<<62) + 1
		if it.Holds == nil {
			it.Holds = map[string]hold{}
		}
		it.Holds[strconv.FormatInt(id, 10)] = hold{Amount: worst, Holder: holder}
		ok, err := db.putVersioned(ctx, table, it, cond, values)
		if err != nil {
			return 0, 0, false, internal("hold budget", err)
		}
		if ok {
			return id, held, true, nil
		}
	}
	return 0, 0, false, internal("hold budget", errContended)
}

// SettleHold takes the hold out of who's item and adds actual to what who
// spent, if the item still counts the period that began at since.
func (db *DB) SettleHold(ctx context.Context, holdID int64, who claudebridge.Caller, since time.Time, actual float64) error {
	table := db.table(budgetHoldsTable.kind)
	caller := callerID(who)
	id := strconv.FormatInt(holdID, 10)
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return err
		}
		var it budgetItem
		cond, values, ver, err := db.versioned(ctx, table, "caller", caller, &it)
		if err != nil {
			return internal("settle hold", err)
		}
		if ver == 0 {
			return nil
		}
		_, held := it.Holds[id]
		counts := it.Since == unixMicros(since)
		if !held && !counts {
			return nil
		}
		delete(it.Holds, id)
		if counts {
			it.Spent += actual
		}
		it.Ver = ver + 1
		ok, err := db.putVersioned(ctx, table, it, cond, values)
		if err != nil || ok {
			return internal("settle hold", err)
		}
	}
	return internal("settle hold", errContended)
}
