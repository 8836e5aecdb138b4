//go:build axon_complement

// Axon process deployer for Complement: every homeserver of a deployment is an Axon process
// (node dist/apps/homeserver/src/main.js) with its own data directory, bound to its own
// loopback address (hs1 127.0.0.2, hs2 127.0.0.3, ...; ports 8008 client, 8448 federation).
// The runner tools/complement/run.mjs sets:
//
//	AXON_COMPLEMENT_MAIN     path of the built homeserver main.js (required)
//	AXON_COMPLEMENT_NODE     node binary (default "node")
//	AXON_COMPLEMENT_WORKDIR  where data/, logs/ and pids/ go (default tmp/complement)
//	AXON_COMPLEMENT_HS_<X>   passed to every homeserver as AXON_<X> (e.g. _LOG_LEVEL=debug)
package complement

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/matrix-org/complement/b"
	"github.com/matrix-org/complement/client"
	"github.com/matrix-org/complement/ct"
	"github.com/matrix-org/complement/helpers"
	"github.com/matrix-org/complement/internal/config"
	"github.com/matrix-org/complement/internal/instruction"
	"github.com/matrix-org/gomatrixserverlib"
)

const (
	axonClientPort     = 8008
	axonFederationPort = 8448
	axonSharedSecret   = "complement"
	axonStopTimeout    = 15 * time.Second
	axonLogTailLines   = 400
)

// axonEnv holds what every deployment of a test package needs.
type axonEnv struct {
	cfg     *config.Complement
	node    string
	mainJS  string
	workDir string
	extra   []string // AXON_* settings from AXON_COMPLEMENT_HS_*

	// Data directories of a clean, stopped hsN: a fresh server starts from a copy, which
	// skips creating its database (a first start takes 3-4 times as long as a restart).
	// The Docker deployer does the same with blueprint images. AXON_COMPLEMENT_NO_TEMPLATE=1
	// turns this off.
	useTemplates bool
	templatesMu  sync.Mutex
	templates    map[string]string
}

func newAxonEnv(cfg *config.Complement) (*axonEnv, error) {
	mainJS := os.Getenv("AXON_COMPLEMENT_MAIN")
	if mainJS == "" {
		return nil, errors.New("AXON_COMPLEMENT_MAIN must name the homeserver's main.js (run through npm run test:complement)")
	}
	if _, err := os.Stat(mainJS); err != nil {
		return nil, fmt.Errorf("AXON_COMPLEMENT_MAIN: %w", err)
	}
	node := os.Getenv("AXON_COMPLEMENT_NODE")
	if node == "" {
		node = "node"
	}
	workDir := os.Getenv("AXON_COMPLEMENT_WORKDIR")
	if workDir == "" {
		workDir = filepath.Join("tmp", "complement")
	}
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	var extra []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AXON_COMPLEMENT_HS_") {
			extra = append(extra, "AXON_"+strings.TrimPrefix(kv, "AXON_COMPLEMENT_HS_"))
		}
	}
	return &axonEnv{
		cfg: cfg, node: node, mainJS: mainJS, workDir: workDir, extra: extra,
		useTemplates: os.Getenv("AXON_COMPLEMENT_NO_TEMPLATE") != "1",
		templates:    map[string]string{},
	}, nil
}

// Addresses in use by live homeservers of this test binary. hsN prefers 127.0.0.(N+1), the
// address /etc/hosts gives its name; a second live deployment (for example OldDeploy while
// a dirty deployment runs) gets a spare loopback address instead.
var (
	addrMu    sync.Mutex
	addrInUse = map[string]bool{}
)

func hsIndex(hsName string) int {
	var n int
	if _, err := fmt.Sscanf(hsName, "hs%d", &n); err != nil || n < 1 || n > 200 {
		return 0
	}
	return n
}

func allocAddr(hsName string) (string, error) {
	addrMu.Lock()
	defer addrMu.Unlock()
	n := hsIndex(hsName)
	if n == 0 {
		return "", fmt.Errorf("homeserver name %q is not hsN", hsName)
	}
	candidates := []string{fmt.Sprintf("127.0.0.%d", n+1)}
	for k := 1; k < 250; k++ {
		candidates = append(candidates, fmt.Sprintf("127.0.%d.%d", 10+n, k))
	}
	for _, ip := range candidates {
		if !addrInUse[ip] {
			addrInUse[ip] = true
			return ip, nil
		}
	}
	return "", fmt.Errorf("no free loopback address for %s", hsName)
}

func freeAddr(ip string) {
	addrMu.Lock()
	defer addrMu.Unlock()
	delete(addrInUse, ip)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// deploy starts the blueprint's homeservers and runs its instructions.
func (e *axonEnv) deploy(t ct.TestLike, namespace string, bp b.Blueprint, dirty bool) (*axonDeployment, error) {
	logName := "dirty"
	if !dirty {
		logName = unsafeChars.ReplaceAllString(t.Name(), "_")
	}
	d := &axonDeployment{
		env:      e,
		name:     bp.Name,
		dirty:    dirty,
		dataRoot: filepath.Join(e.workDir, "data", e.cfg.PackageNamespace+"-"+namespace),
		logDir:   filepath.Join(e.workDir, "logs", e.cfg.PackageNamespace, logName),
		HS:       map[string]*axonHS{},
	}
	_ = os.RemoveAll(d.dataRoot)
	if err := os.MkdirAll(d.logDir, 0o755); err != nil {
		return nil, err
	}
	runner := instruction.NewRunner(bp.Name, e.cfg.BestEffort, e.cfg.DebugLoggingEnabled)
	for _, hs := range bp.Homeservers {
		if len(hs.ApplicationServices) > 0 {
			t.Logf("axon deployer: %s: application services are not supported, %d ignored", hs.Name, len(hs.ApplicationServices))
		}
		if err := d.addServer(hs.Name); err != nil {
			d.stopAll()
			return nil, err
		}
		hsDep := d.HS[hs.Name]
		if err := runner.Run(hs, hsDep.BaseURL); err != nil {
			d.printLogs(t)
			d.stopAll()
			return nil, fmt.Errorf("%s: failed to run blueprint instructions: %w", hs.Name, err)
		}
		tokens := runner.AccessTokens(hs.Name)
		if len(bp.KeepAccessTokensForUsers) > 0 {
			kept := map[string]string{}
			for _, userID := range bp.KeepAccessTokensForUsers {
				if tok, ok := tokens[userID]; ok {
					kept[userID] = tok
				}
			}
			tokens = kept
		}
		hsDep.accessTokensMu.Lock()
		for k, v := range tokens {
			hsDep.AccessTokens[k] = v
		}
		for k, v := range runner.DeviceIDs(hs.Name) {
			hsDep.DeviceIDs[k] = v
		}
		hsDep.accessTokensMu.Unlock()
	}
	return d, nil
}

// axonDeployment implements Deployment with Axon processes.
type axonDeployment struct {
	env              *axonEnv
	name             string
	dirty            bool
	dataRoot         string
	logDir           string
	HS               map[string]*axonHS
	hsMu             sync.Mutex
	stopped          bool
	localpartCounter atomic.Int64
}

// axonHS is one homeserver process (restartable).
type axonHS struct {
	Name           string
	IP             string
	BaseURL        string // http://127.0.0.2:8008
	FedBaseURL     string // https://127.0.0.2:8448
	DataDir        string
	LogPath        string
	AccessTokens   map[string]string
	DeviceIDs      map[string]string
	accessTokensMu sync.RWMutex

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the running process exited
	paused bool
}

func (d *axonDeployment) addServer(hsName string) error {
	ip, err := allocAddr(hsName)
	if err != nil {
		return err
	}
	hs := &axonHS{
		Name:         hsName,
		IP:           ip,
		BaseURL:      fmt.Sprintf("http://%s:%d", ip, axonClientPort),
		FedBaseURL:   fmt.Sprintf("https://%s:%d", ip, axonFederationPort),
		DataDir:      filepath.Join(d.dataRoot, hsName),
		LogPath:      filepath.Join(d.logDir, hsName+".log"),
		AccessTokens: map[string]string{},
		DeviceIDs:    map[string]string{},
	}
	if err := d.seedDataDir(hs); err != nil {
		freeAddr(ip)
		return err
	}
	if err := d.start(hs); err != nil {
		freeAddr(ip)
		return err
	}
	d.hsMu.Lock()
	d.HS[hsName] = hs
	d.hsMu.Unlock()
	return nil
}

// seedDataDir fills a new homeserver's data directory: a copy of the template for its name,
// made on first use by starting and stopping a clean server on the template directory.
func (d *axonDeployment) seedDataDir(hs *axonHS) error {
	e := d.env
	if !e.useTemplates {
		return os.MkdirAll(hs.DataDir, 0o755)
	}
	e.templatesMu.Lock()
	defer e.templatesMu.Unlock()
	tmpl, ok := e.templates[hs.Name]
	if !ok {
		tmpl = filepath.Join(e.workDir, "templates", hs.Name)
		_ = os.RemoveAll(tmpl)
		if err := os.MkdirAll(tmpl, 0o755); err != nil {
			return err
		}
		th := &axonHS{Name: hs.Name, IP: hs.IP, BaseURL: hs.BaseURL, FedBaseURL: hs.FedBaseURL, DataDir: tmpl,
			LogPath: filepath.Join(e.workDir, "templates", hs.Name+".log")}
		if err := d.start(th); err != nil {
			return fmt.Errorf("template for %s: %w", hs.Name, err)
		}
		if err := d.stop(th); err != nil {
			return fmt.Errorf("template for %s: %w", hs.Name, err)
		}
		e.templates[hs.Name] = tmpl
	}
	_ = os.RemoveAll(hs.DataDir)
	if err := os.MkdirAll(filepath.Dir(hs.DataDir), 0o755); err != nil {
		return err
	}
	return copyDir(tmpl, hs.DataDir)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if de.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !de.Type().IsRegular() {
			return fmt.Errorf("copyDir: %s is not a regular file", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

func (d *axonDeployment) hsEnv(hs *axonHS) []string {
	var env []string
	for _, kv := range os.Environ() {
		// settings of the caller's own Axon (database URL, config file...) must not leak in
		if strings.HasPrefix(kv, "AXON_") || strings.HasPrefix(kv, "COMPLEMENT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AXON_SERVER_NAME="+hs.Name,
		"AXON_DATA_DIR="+hs.DataDir,
		fmt.Sprintf("AXON_CLIENT_LISTEN=%s:%d", hs.IP, axonClientPort),
		fmt.Sprintf("AXON_FEDERATION_LISTEN=%s:%d", hs.IP, axonFederationPort),
		"AXON_GRPC_LISTEN="+hs.IP+":0",
		"AXON_ENABLE_REGISTRATION=true",
		"AXON_RATE_LIMITS_ENABLED=false",
		"AXON_REGISTRATION_SHARED_SECRET="+axonSharedSecret,
		// Server notices come from @_server:<hs>, as in Complement's Synapse configuration.
		"AXON_SERVER_NOTICES_LOCALPART=_server",
		// This Complement (2024) is written for pre-v12 rooms (creators listed in power
		// levels, m.room.create's creator); room version 10 is Synapse's default too.
		"AXON_DEFAULT_ROOM_VERSION=10",
		"AXON_LOG_LEVEL=info",
	)
	return append(env, d.env.extra...) // later entries win
}

func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// start launches the process and waits until GET /_matrix/client/versions answers 200.
func (d *axonDeployment) start(hs *axonHS) error {
	done, err := d.spawn(hs)
	if err != nil {
		return err
	}
	timeout := d.env.cfg.SpawnHSTimeout
	if timeout < 60*time.Second {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	httpc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-done:
			hs.mu.Lock()
			hs.cmd = nil
			hs.mu.Unlock()
			return fmt.Errorf("%s exited during start-up; log %s:\n%s", hs.Name, hs.LogPath, tail(hs.LogPath, 60))
		default:
		}
		res, err := httpc.Get(hs.BaseURL + "/_matrix/client/versions")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = d.stop(hs)
			return fmt.Errorf("%s not ready after %v; log %s:\n%s", hs.Name, timeout, hs.LogPath, tail(hs.LogPath, 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// spawn starts the homeserver process; the returned channel is closed when it exits.
func (d *axonDeployment) spawn(hs *axonHS) (chan struct{}, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.cmd != nil {
		return nil, fmt.Errorf("%s is already running", hs.Name)
	}
	clientAddr := fmt.Sprintf("%s:%d", hs.IP, axonClientPort)
	for i := 0; !portFree(clientAddr); i++ {
		if i > 100 {
			return nil, fmt.Errorf("%s: %s is in use by another process", hs.Name, clientAddr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	logFile, err := os.OpenFile(hs.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "=== axon deployer: starting %s on %s at %s\n", hs.Name, hs.IP, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(d.env.node, d.env.mainJS)
	cmd.Env = d.hsEnv(hs)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %s: %w", hs.Name, d.env.node, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(logFile, "=== axon deployer: %s exited: %s\n", hs.Name, cmd.ProcessState)
		logFile.Close()
		close(done)
	}()
	hs.cmd, hs.done, hs.paused = cmd, done, false
	pidFile := d.pidFile(hs)
	_ = os.MkdirAll(filepath.Dir(pidFile), 0o755)
	_ = os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o644)
	return done, nil
}

func (d *axonDeployment) pidFile(hs *axonHS) string {
	return filepath.Join(d.env.workDir, "pids", fmt.Sprintf("%s-%s.pid", filepath.Base(d.dataRoot), hs.Name))
}

// stop sends SIGTERM (SIGKILL after a grace period) and waits for the process to exit.
func (d *axonDeployment) stop(hs *axonHS) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.cmd == nil {
		return fmt.Errorf("%s is not running", hs.Name)
	}
	pgid := -hs.cmd.Process.Pid
	if hs.paused {
		_ = syscall.Kill(pgid, syscall.SIGCONT)
		hs.paused = false
	}
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	var err error
	select {
	case <-hs.done:
	case <-time.After(axonStopTimeout):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-hs.done
		err = fmt.Errorf("%s did not stop within %v of SIGTERM; killed", hs.Name, axonStopTimeout)
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL) // anything left in its process group
	_ = os.Remove(d.pidFile(hs))
	hs.cmd = nil
	return err
}

func (d *axonDeployment) signal(hs *axonHS, sig syscall.Signal) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.cmd == nil {
		return fmt.Errorf("%s is not running", hs.Name)
	}
	if err := syscall.Kill(-hs.cmd.Process.Pid, sig); err != nil {
		return err
	}
	hs.paused = sig == syscall.SIGSTOP
	return nil
}

func (d *axonDeployment) stopAll() {
	d.hsMu.Lock()
	defer d.hsMu.Unlock()
	if d.stopped {
		return
	}
	d.stopped = true
	for _, hs := range d.HS {
		if hs.cmd != nil {
			_ = d.stop(hs)
		}
		freeAddr(hs.IP)
	}
	_ = os.RemoveAll(d.dataRoot)
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %s)", path, err)
	}
	var all []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = append([]string{fmt.Sprintf("... (%d earlier lines in %s)", len(all)-lines, path)}, all[len(all)-lines:]...)
	}
	return strings.Join(all, "\n")
}

func (d *axonDeployment) printLogs(t ct.TestLike) {
	d.hsMu.Lock()
	defer d.hsMu.Unlock()
	for _, hs := range d.HS {
		t.Logf("============ %s logs (%s) ============\n%s\n============ end of %s logs ============", hs.Name, hs.LogPath, tail(hs.LogPath, axonLogTailLines), hs.Name)
	}
}

func (d *axonDeployment) destroyAtCleanup() {
	d.stopAll()
	if d.env.cfg.AlwaysPrintServerLogs {
		for _, hs := range d.HS {
			fmt.Printf("============ %s logs ============\n%s\n", hs.Name, tail(hs.LogPath, axonLogTailLines))
		}
	}
}

func (d *axonDeployment) hs(t ct.TestLike, fn, hsName string) *axonHS {
	t.Helper()
	d.hsMu.Lock()
	hs := d.HS[hsName]
	d.hsMu.Unlock()
	if hs == nil {
		ct.Fatalf(t, "Deployment.%s: HS name '%s' not found", fn, hsName)
	}
	return hs
}

func (d *axonDeployment) newClient(t ct.TestLike, hs *axonHS) *client.CSAPI {
	return &client.CSAPI{
		BaseURL:          hs.BaseURL,
		Client:           client.NewLoggedClient(t, hs.Name, nil),
		SyncUntilTimeout: 5 * time.Second,
		Debug:            d.env.cfg.DebugLoggingEnabled,
	}
}

// ---- Deployment interface ----

func (d *axonDeployment) UnauthenticatedClient(t ct.TestLike, hsName string) *client.CSAPI {
	t.Helper()
	return d.newClient(t, d.hs(t, "UnauthenticatedClient", hsName))
}

func (d *axonDeployment) Register(t ct.TestLike, hsName string, opts helpers.RegistrationOpts) *client.CSAPI {
	t.Helper()
	hs := d.hs(t, "Register", hsName)
	c := d.newClient(t, hs)
	password := opts.Password
	if password == "" {
		password = "complement_meets_min_password_req"
	}
	c.Password = password
	localpart := fmt.Sprintf("user-%v", d.localpartCounter.Add(1))
	if opts.LocalpartSuffix != "" {
		localpart += fmt.Sprintf("-%s", opts.LocalpartSuffix)
	}
	var userID, accessToken, deviceID string
	if opts.IsAdmin {
		userID, accessToken, deviceID = c.RegisterSharedSecret(t, localpart, password, opts.IsAdmin)
	} else {
		userID, accessToken, deviceID = c.RegisterUser(t, localpart, password)
	}
	hs.accessTokensMu.Lock()
	hs.AccessTokens[userID] = accessToken
	hs.accessTokensMu.Unlock()
	c.UserID = userID
	c.AccessToken = accessToken
	c.DeviceID = deviceID
	return c
}

func (d *axonDeployment) Login(t ct.TestLike, hsName string, existing *client.CSAPI, opts helpers.LoginOpts) *client.CSAPI {
	t.Helper()
	hs := d.hs(t, "Login", hsName)
	localpart, _, err := gomatrixserverlib.SplitID('@', existing.UserID)
	if err != nil {
		ct.Fatalf(t, "Deployment.Login: existing CSAPI client has invalid user ID '%s', cannot login as this user: %s", existing.UserID, err)
	}
	c := d.newClient(t, hs)
	c.Password = existing.Password
	if opts.Password != "" {
		c.Password = opts.Password
	}
	var userID, accessToken, deviceID string
	if opts.DeviceID == "" {
		userID, accessToken, deviceID = c.LoginUser(t, localpart, opts.Password)
	} else {
		userID, accessToken, deviceID = c.LoginUser(t, localpart, opts.Password, client.WithDeviceID(opts.DeviceID))
	}
	c.UserID = userID
	c.AccessToken = accessToken
	c.DeviceID = deviceID
	return c
}

func (d *axonDeployment) AppServiceUser(t ct.TestLike, hsName, appServiceUserID string) *client.CSAPI {
	t.Helper()
	hs := d.hs(t, "AppServiceUser", hsName)
	hs.accessTokensMu.RLock()
	token := hs.AccessTokens[appServiceUserID]
	deviceID := hs.DeviceIDs[appServiceUserID]
	hs.accessTokensMu.RUnlock()
	if token == "" && appServiceUserID != "" {
		ct.Fatalf(t, "Deployment.AppServiceUser - HS name '%s' - user ID '%s' not found", hsName, appServiceUserID)
	}
	c := d.newClient(t, hs)
	c.UserID = appServiceUserID
	c.AccessToken = token
	c.DeviceID = deviceID
	return c
}

// Restart stops and starts every homeserver; data directories are kept and addresses stay
// the same, so existing clients keep working.
func (d *axonDeployment) Restart(t ct.TestLike) error {
	t.Helper()
	for _, hs := range d.HS {
		if hs.cmd != nil {
			if err := d.stop(hs); err != nil {
				t.Errorf("Deployment.Restart: %s", err)
				return err
			}
		}
		if err := d.start(hs); err != nil {
			t.Errorf("Deployment.Restart: %s", err)
			return err
		}
	}
	return nil
}

func (d *axonDeployment) StopServer(t ct.TestLike, hsName string) {
	t.Helper()
	t.Logf("StopServer %s", hsName)
	if err := d.stop(d.hs(t, "StopServer", hsName)); err != nil {
		ct.Fatalf(t, "StopServer: %s", err)
	}
}

func (d *axonDeployment) StartServer(t ct.TestLike, hsName string) {
	t.Helper()
	t.Logf("StartServer %s", hsName)
	if err := d.start(d.hs(t, "StartServer", hsName)); err != nil {
		ct.Fatalf(t, "StartServer: %s", err)
	}
}

func (d *axonDeployment) PauseServer(t ct.TestLike, hsName string) {
	t.Helper()
	t.Logf("PauseServer %s", hsName)
	if err := d.signal(d.hs(t, "PauseServer", hsName), syscall.SIGSTOP); err != nil {
		ct.Fatalf(t, "PauseServer: %s", err)
	}
}

func (d *axonDeployment) UnpauseServer(t ct.TestLike, hsName string) {
	t.Helper()
	t.Logf("UnpauseServer %s", hsName)
	if err := d.signal(d.hs(t, "UnpauseServer", hsName), syscall.SIGCONT); err != nil {
		ct.Fatalf(t, "UnpauseServer: %s", err)
	}
}

// ContainerID has no container to name: it returns the homeserver's process ID.
func (d *axonDeployment) ContainerID(t ct.TestLike, hsName string) string {
	t.Helper()
	hs := d.hs(t, "ContainerID", hsName)
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.cmd == nil {
		return ""
	}
	return fmt.Sprintf("pid-%d", hs.cmd.Process.Pid)
}

// Destroy stops every homeserver and removes the data directories; the logs (kept under
// logs/<package>/<test>/) are printed when the test failed. A dirty deployment lives on.
func (d *axonDeployment) Destroy(t ct.TestLike) {
	t.Helper()
	show := d.env.cfg.AlwaysPrintServerLogs || t.Failed()
	if !d.dirty {
		d.stopAll() // first: a stopped server has flushed its log
	}
	if show {
		d.printLogs(t)
	}
}

func (d *axonDeployment) GetConfig() *config.Complement {
	return d.env.cfg
}

// RoundTripper sends https://hsN requests to hsN's federation listener.
func (d *axonDeployment) RoundTripper() http.RoundTripper {
	return &axonRoundTripper{d: d, inner: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext:     (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
}

func (d *axonDeployment) Network() string {
	return "host"
}

type axonRoundTripper struct {
	d     *axonDeployment
	inner http.RoundTripper
}

func (rt *axonRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	hsName := req.URL.Hostname()
	rt.d.hsMu.Lock()
	hs := rt.d.HS[hsName]
	rt.d.hsMu.Unlock()
	if hs == nil {
		return nil, fmt.Errorf("axon RoundTripper: unknown hostname '%s'", hsName)
	}
	req = req.Clone(req.Context())
	req.Host = hsName
	req.URL.Scheme = "https"
	req.URL.Host = fmt.Sprintf("%s:%d", hs.IP, axonFederationPort)
	return rt.inner.RoundTrip(req)
}
