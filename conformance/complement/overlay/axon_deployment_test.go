//go:build axon_complement

// Self-test of the Axon process deployer: the Deployment methods that tests/csapi never
// calls (restart, stop/start, pause/unpause, blueprints, logins, the container ID). Run it
// with `npm run test:complement -- --run TestAxonDeployer .` (the root package).

package complement

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matrix-org/complement/b"
	"github.com/matrix-org/complement/helpers"
)

// reachable says whether a homeserver answers GET /_matrix/client/versions within a second.
func reachable(baseURL string) bool {
	res, err := (&http.Client{Timeout: time.Second}).Get(baseURL + "/_matrix/client/versions")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func TestAxonDeployer(t *testing.T) {
	tp, err := NewTestPackage("axonselftest")
	if err != nil {
		t.Fatalf("NewTestPackage: %s", err)
	}
	defer tp.Cleanup()

	t.Run("a blueprint's users and rooms exist, and a restart keeps data and tokens", func(t *testing.T) {
		d := tp.OldDeploy(t, b.BlueprintOneToOneRoom)
		defer d.Destroy(t)
		alice := d.Register(t, "hs1", helpers.RegistrationOpts{LocalpartSuffix: "selftest", Password: "selftest password"})
		roomID := alice.MustCreateRoom(t, map[string]interface{}{"preset": "private_chat"})
		if err := d.Restart(t); err != nil {
			t.Fatalf("Restart: %s", err)
		}
		res := alice.MustDo(t, "GET", []string{"_matrix", "client", "v3", "joined_rooms"})
		defer res.Body.Close()
		var joined struct {
			JoinedRooms []string `json:"joined_rooms"`
		}
		if err := json.NewDecoder(res.Body).Decode(&joined); err != nil {
			t.Fatalf("joined_rooms: %s", err)
		}
		found := false
		for _, id := range joined.JoinedRooms {
			if id == roomID {
				found = true
			}
		}
		if !found {
			t.Fatalf("after Restart, %s is not in alice's joined rooms %v", roomID, joined.JoinedRooms)
		}
		again := d.Login(t, "hs1", alice, helpers.LoginOpts{Password: "selftest password"})
		if again.AccessToken == "" || again.AccessToken == alice.AccessToken {
			t.Fatalf("Login did not give a new access token")
		}
	})

	t.Run("stop and start, pause and unpause a server; its container ID is its process", func(t *testing.T) {
		d := tp.Deploy(t, 2)
		defer d.Destroy(t)
		hs2 := d.UnauthenticatedClient(t, "hs2").BaseURL
		if !reachable(hs2) {
			t.Fatalf("hs2 does not answer at %s", hs2)
		}
		if id := d.ContainerID(t, "hs2"); !strings.HasPrefix(id, "pid-") {
			t.Fatalf("ContainerID = %q, want pid-<n>", id)
		}
		d.StopServer(t, "hs2")
		if reachable(hs2) {
			t.Fatalf("hs2 answers after StopServer")
		}
		if !reachable(d.UnauthenticatedClient(t, "hs1").BaseURL) {
			t.Fatalf("hs1 stopped with hs2")
		}
		d.StartServer(t, "hs2")
		if !reachable(hs2) {
			t.Fatalf("hs2 does not answer after StartServer")
		}
		d.PauseServer(t, "hs2")
		if reachable(hs2) {
			t.Fatalf("hs2 answers while paused")
		}
		d.UnpauseServer(t, "hs2")
		if !reachable(hs2) {
			t.Fatalf("hs2 does not answer after UnpauseServer")
		}
		if d.GetConfig() == nil || d.RoundTripper() == nil || d.Network() == "" {
			t.Fatalf("GetConfig, RoundTripper and Network must answer")
		}
	})
}
