package cdc

import (
	"os"
	"testing"

	"github.com/walrelay/walrelay/pgembed/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
