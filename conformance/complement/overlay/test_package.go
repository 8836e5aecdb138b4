//go:build axon_complement

// Replacement for Complement's test_package.go (package complement, pinned version
// v0.0.0-20240925142218-911d7d39773a). The runner (tools/complement/run.mjs) puts this file
// in place of the original with `go test -overlay`, so Complement's tests deploy Axon
// homeservers as local processes (see axon_deployment.go) instead of Docker containers.
// The exported API (Deployment, TestPackage, NewTestPackage, Cleanup, OldDeploy, Deploy) is
// the one of the pinned version; test_main.go is used unchanged.
package complement

import (
	"fmt"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/matrix-org/complement/b"
	"github.com/matrix-org/complement/client"
	"github.com/matrix-org/complement/ct"
	"github.com/matrix-org/complement/helpers"
	"github.com/matrix-org/complement/internal/config"
	"github.com/sirupsen/logrus"
)

// Deployment provides a way for tests to interact with a set of homeservers.
// (Same interface as the pinned Complement version.)
type Deployment interface {
	UnauthenticatedClient(t ct.TestLike, serverName string) *client.CSAPI
	Register(t ct.TestLike, hsName string, opts helpers.RegistrationOpts) *client.CSAPI
	Login(t ct.TestLike, hsName string, existing *client.CSAPI, opts helpers.LoginOpts) *client.CSAPI
	AppServiceUser(t ct.TestLike, hsName, appServiceUserID string) *client.CSAPI
	Restart(t ct.TestLike) error
	StopServer(t ct.TestLike, hsName string)
	StartServer(t ct.TestLike, hsName string)
	PauseServer(t ct.TestLike, hsName string)
	UnpauseServer(t ct.TestLike, hsName string)
	ContainerID(t ct.TestLike, hsName string) string
	Destroy(t ct.TestLike)
	GetConfig() *config.Complement
	RoundTripper() http.RoundTripper
	Network() string
}

// TestPackage represents the configuration for a package of tests (one Go package).
type TestPackage struct {
	// the config used for this package.
	Config *config.Complement
	// where homeserver processes get their binaries, data and log directories
	env *axonEnv
	// a counter to stop tests from allocating the same data directory
	namespaceCounter uint64

	// the deployment reused by Deploy(t, n) when COMPLEMENT_ENABLE_DIRTY_RUNS=1
	existingDeployment   *axonDeployment
	existingDeploymentMu *sync.Mutex
}

// NewTestPackage creates a new test package. Called from TestMain before any test runs.
func NewTestPackage(pkgNamespace string) (*TestPackage, error) {
	cfg := config.NewConfigFromEnvVars(pkgNamespace, "")
	env, err := newAxonEnv(cfg)
	if err != nil {
		return nil, fmt.Errorf("axon deployer: %w", err)
	}
	log.Printf("axon deployer: namespace=%s main=%s node=%s work=%s dirty=%v", pkgNamespace, env.mainJS, env.node, env.workDir, cfg.EnableDirtyRuns)
	// GMSL logs through logrus; keep only serious messages in the test output.
	logrus.SetLevel(logrus.ErrorLevel)
	return &TestPackage{
		Config:               cfg,
		env:                  env,
		existingDeploymentMu: &sync.Mutex{},
	}, nil
}

// Cleanup stops a dirty deployment, if any. Called after all tests of the package ran.
func (tp *TestPackage) Cleanup() {
	tp.existingDeploymentMu.Lock()
	defer tp.existingDeploymentMu.Unlock()
	if tp.existingDeployment != nil {
		tp.existingDeployment.destroyAtCleanup()
		tp.existingDeployment = nil
	}
}

// OldDeploy starts one process per homeserver of the blueprint and realises the blueprint
// (users, rooms, events) over the Client-Server API, or terminates the test.
func (tp *TestPackage) OldDeploy(t ct.TestLike, blueprint b.Blueprint) Deployment {
	t.Helper()
	start := time.Now()
	namespace := fmt.Sprintf("%d", atomic.AddUint64(&tp.namespaceCounter, 1))
	dep, err := tp.env.deploy(t, namespace, blueprint, false)
	if err != nil {
		ct.Fatalf(t, "OldDeploy: %s", err)
	}
	t.Logf("OldDeploy %s: %v", blueprint.Name, time.Since(start))
	return dep
}

// Deploy starts numServers clean homeservers (hs1, hs2, ...) or terminates the test.
func (tp *TestPackage) Deploy(t ct.TestLike, numServers int) Deployment {
	t.Helper()
	if tp.Config.EnableDirtyRuns {
		return tp.dirtyDeploy(t, numServers)
	}
	return tp.OldDeploy(t, mapServersToBlueprint(numServers))
}

func (tp *TestPackage) dirtyDeploy(t ct.TestLike, numServers int) Deployment {
	t.Helper()
	tp.existingDeploymentMu.Lock()
	defer tp.existingDeploymentMu.Unlock()
	if tp.existingDeployment == nil {
		dep, err := tp.env.deploy(t, "dirty", mapServersToBlueprint(1), true)
		if err != nil {
			ct.Fatalf(t, "dirtyDeploy: %s", err)
		}
		tp.existingDeployment = dep
	}
	// scale up when more servers are needed than already run
	for i := 1; i <= numServers; i++ {
		hsName := fmt.Sprintf("hs%d", i)
		if _, ok := tp.existingDeployment.HS[hsName]; ok {
			continue
		}
		if err := tp.existingDeployment.addServer(hsName); err != nil {
			ct.Fatalf(t, "dirtyDeploy: failed to add %s: %s", hsName, err)
		}
	}
	return tp.existingDeployment
}

// converts the requested number of servers into a single blueprint.
func mapServersToBlueprint(numServers int) b.Blueprint {
	servers := make([]b.Homeserver, numServers)
	for i := range servers {
		servers[i] = b.Homeserver{
			Name: fmt.Sprintf("hs%d", i+1), // hs1,hs2,...
		}
	}
	return b.MustValidate(b.Blueprint{
		Name:        fmt.Sprintf("%d_servers", numServers),
		Homeservers: servers,
	})
}
