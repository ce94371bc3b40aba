package nifcloud

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

// TestSecretsNeverLogged drives successful, failing and retried calls with
// the most verbose logging and asserts that neither the secret nor any
// signature (nor the whole access key id) reaches the logs or the errors.
func TestSecretsNeverLogged(t *testing.T) {
	api := newFakeAPI(t, func(n int, form url.Values, w http.ResponseWriter) {
		switch form.Get("Action") {
		case "DescribeVolumes":
			if n == 1 {
				writeError(w, http.StatusServiceUnavailable, "Server.Unavailable")
				return
			}
			reply(w, okVolumes)
		case "DeleteVolume":
			writeError(w, http.StatusForbidden, "Client.SignatureDoesNotMatch")
		default:
			w.WriteHeader(http.StatusBadGateway)
			reply(w, "<html>bad gateway</html>")
		}
	})
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(10), ktesting.BufferLogs(true)))
	ctx := klog.NewContext(context.Background(), logger)
	cfg := testConfig(api.srv.URL)
	cfg.MaxAttempts = 2
	c := newTestClient(t, cfg)

	var errs []error
	if _, err := c.DescribeVolumes(ctx, &DescribeVolumesInput{VolumeIDs: []string{"v1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteVolume(ctx, "v1")
	errs = append(errs, err)
	_, err = c.CreateVolume(ctx, &CreateVolumeInput{Size: 100, InstanceID: "web1", Description: "pvc-1"})
	errs = append(errs, err)
	logger.Error(nil, "config", "config", c.Config())

	logs := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
	if !strings.Contains(logs, "NIFCLOUD API call") || !strings.Contains(logs, "DescribeVolumes") || !strings.Contains(logs, "ok-1") {
		t.Fatalf("expected call logs with action and request id, got:\n%s", logs)
	}
	if !strings.Contains(logs, "VolumeId.1=v1") {
		t.Errorf("V(5) parameter log missing:\n%s", logs)
	}
	forbidden := []string{testSecret, testAccessKey, "Signature=", "AccessKeyId="}
	for i := 0; i < int(api.calls.Load()); i++ {
		forbidden = append(forbidden, api.form(i).Get(signer.KeySignature), url.QueryEscape(api.form(i).Get(signer.KeySignature)))
	}
	var text strings.Builder
	text.WriteString(logs)
	for _, e := range errs {
		if e == nil {
			t.Fatal("want errors from the failing calls")
		}
		text.WriteString(e.Error())
		fmt.Fprintf(&text, "%v %+v %#v", e, e, e)
	}
	for _, s := range forbidden {
		if s != "" && strings.Contains(text.String(), s) {
			t.Errorf("leaked %q in logs/errors:\n%s", s, text.String())
		}
	}
}

func TestConfigFormattingRedactsSecret(t *testing.T) {
	c := Config{Region: "jp-east-1", AccessKeyID: testAccessKey, SecretAccessKey: testSecret,
		Endpoint: "http://user:endpointpass@127.0.0.1:1/api/"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "config", c)
	outputs := []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprint(&c), fmt.Sprint(c.MarshalLog()), buf.String()}
	for _, s := range outputs {
		for _, leak := range []string{testSecret, testAccessKey, "endpointpass"} {
			if strings.Contains(s, leak) {
				t.Errorf("formatted config leaks %q: %s", leak, s)
			}
		}
		if !strings.Contains(s, "jp-east-1") {
			t.Errorf("formatted config lost the region: %s", s)
		}
	}
	if !strings.Contains(c.String(), "<redacted>") {
		t.Errorf("String() = %s", c.String())
	}
}

func TestLoggableParamsStripsCredentials(t *testing.T) {
	v := url.Values{"Action": {"X"}, "AccessKeyId": {"AK"}, "Signature": {"SIG"}, "SecretAccessKey": {"SK"}, "VolumeId": {"v"}}
	if got := loggableParams(v); got != "Action=X&VolumeId=v" {
		t.Errorf("loggableParams = %q", got)
	}
}
