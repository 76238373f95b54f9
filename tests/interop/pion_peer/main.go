// pion_peer: an independent WebRTC data-channel peer for idrop-lan's
// interoperability tests, built on Pion (github.com/pion/webrtc/v3, Debian's
// golang-github-pion-webrtc.v3-dev 3.1.56) and Go's standard library only.
// `make build/pion_peer` builds it offline in GOPATH mode (see the Makefile).
//
//	pion_peer offer URL [-text N] [-binary-bytes B] [-chunk C] [-sink-bytes S]
//	                    [-setup actpass|active] [-expect-fingerprint HEX] [-timeout S]
//	    Offerer. Opens the data channels "echo" and, with -sink-bytes, "sink"
//	    (both ordered, reliable), waits for ICE gathering to complete, POSTs
//	    the offer to URL (Content-Type application/sdp; a bare
//	    http://HOST:PORT means .../api/offer), expects 201 with the answer,
//	    then sends N texts and B bytes of binary in C-byte messages (default
//	    16384) on "echo" (at most 512 KiB ahead of the echoes, so the
//	    device's bounded echo queue never fills) and checks every echo, in
//	    order, with its type; then
//	    S bytes of binary on "sink" followed by the text "done", and checks
//	    that the reply is the byte count S. -setup active makes the offer say
//	    a=setup:active (we insist on being the DTLS client; the answer must
//	    say passive), the default is Pion's actpass. Prints one JSON summary
//	    line on stdout; exit 0 on success, 1 on any failure or timeout (with
//	    "pion_peer: error: ..." on stderr).
//
//	pion_peer answer -port P [-bind ADDR] [-setup auto|passive] [-reader detached|stock]
//	    Answerer, a stand-in for `idrop-lan serve`: serves POST /api/offer
//	    (application/sdp, a complete offer) and answers 201 Created with the
//	    SDP answer once gathering is complete. Channel "echo" sends back every
//	    message with its type; "sink" counts binary bytes and answers the text
//	    "done" with the count (what `idrop-lan ping` expects). -setup auto
//	    (default) is stock Pion: it answers a=setup:active even to an offer
//	    that says active (a bug of Pion 3.1's); passive makes it the DTLS
//	    server (SettingEngine.SetAnsweringDTLSRole). -reader detached (default)
//	    reads through a detached channel with a 1 MiB buffer; stock uses
//	    Pion's OnMessage, whose reader holds 65,535 bytes and closes the
//	    channel on a longer message. Prints "listening on ADDR:PORT" once
//	    ready; runs until SIGTERM/SIGINT, then exits 0.
//
// Test payloads are those of tests/interop/aiortc_peer.py (any side can
// check the bytes): text message i of n is
// "idrop-echo text i/n ünïcödé ✓ " + "x" * (i*37 % 500); the binary stream
// is xorshift32 from state 0x9E3779B9, 4 little-endian bytes a step.
// Pion's own logging is switched on by its environment variables, e.g.
// PIONS_LOG_DEBUG=sctp,datachannel.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/webrtc/v3"
)

const (
	prog      = "pion_peer"
	maxBody   = 256 * 1024
	readBuf   = 1024 * 1024 // a detached channel's reader: any message up to 1 MiB
	highWater = 1024 * 1024 // keep at most this much queued in Pion's SCTP
	// Echo bytes sent and not yet back: the device's echo channel closes
	// when its replies pile up past 1 MiB (web/device.c), which a stream
	// of many MiB does whenever the way back is the slower one.
	echoWindow = 512 * 1024
)

// ---------------------------------------------------------------- payloads

func textMessage(i, n int) string {
	return fmt.Sprintf("idrop-echo text %d/%d ünïcödé ✓ ", i, n) + strings.Repeat("x", i*37%500)
}

func prngStream(n int) []byte {
	out := make([]byte, (n+3)&^3)
	x := uint32(0x9E3779B9)
	for off := 0; off < len(out); off += 4 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[off], out[off+1], out[off+2], out[off+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return out[:n]
}

// ---------------------------------------------------------------- channels

// A message as both of Pion's readers give it; end marks the channel's end.
type message struct {
	data   []byte
	isText bool
	end    bool
}

// channel hides which of Pion's two readers is in use: a detached channel
// read in a goroutine with our own buffer, or Pion's OnMessage. Messages
// and then the end arrive on rx in order: each reader pushes from one
// goroutine (Pion calls OnClose after the last OnMessage returned).
type channel struct {
	dc   *webrtc.DataChannel
	rx   chan message
	send func(data []byte, isText bool) error
}

func (c *channel) end() { c.rx <- message{end: true} }

// openChannel sets dc up to deliver its messages through a detached reader
// or Pion's stock one; once dc is open, its channel is sent on opened (a
// channel whose detaching failed comes too: it ends at once, and cannot
// send).
func openChannel(dc *webrtc.DataChannel, detached bool, opened chan<- *channel) {
	c := &channel{dc: dc, rx: make(chan message, 1024)}
	if !detached {
		dc.OnClose(c.end)
		c.send = func(data []byte, isText bool) error {
			if isText {
				return dc.SendText(string(data))
			}
			return dc.Send(data)
		}
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			c.rx <- message{data: m.Data, isText: m.IsString}
		})
		dc.OnOpen(func() { opened <- c })
		return
	}
	dc.OnOpen(func() {
		raw, err := dc.Detach()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: detach %q: %v\n", prog, dc.Label(), err)
			c.send = func([]byte, bool) error { return err }
			c.end()
			opened <- c
			return
		}
		c.send = func(data []byte, isText bool) error {
			_, err := raw.WriteDataChannel(data, isText)
			return err
		}
		go func() {
			buf := make([]byte, readBuf)
			for {
				n, isText, err := raw.ReadDataChannel(buf)
				if err != nil {
					if !errors.Is(err, io.EOF) {
						fmt.Fprintf(os.Stderr, "%s: channel %q: read: %v\n", prog, dc.Label(), err)
					}
					c.end()
					return
				}
				c.rx <- message{data: append([]byte(nil), buf[:n]...), isText: isText}
			}
		}()
		opened <- c
	})
}

// waitRoom blocks while Pion holds more than highWater bytes for dc.
func waitRoom(dc *webrtc.DataChannel, deadline time.Time) error {
	for dc.BufferedAmount() > highWater {
		if time.Now().After(deadline) {
			return errors.New("timed out with data still queued")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// ---------------------------------------------------------------- offer mode

type offerArgs struct {
	url, setup, expectFP           string
	text, binaryBytes, chunk, sink int
	timeout                        time.Duration
}

var fingerprintRe = regexp.MustCompile(`(?m)^a=fingerprint:\S+ (\S+?)\r?$`)
var setupRe = regexp.MustCompile(`(?m)^a=setup:(\S+?)\r?$`)

func normFP(s string) string { return strings.ToUpper(strings.ReplaceAll(s, ":", "")) }

func postOffer(u, sdp string, timeout time.Duration) (string, error) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Post(u, "application/sdp", strings.NewReader(sdp))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST %s: expected 201 Created, got %d: %.300s", u, resp.StatusCode,
			strings.TrimSpace(string(body)))
	}
	if ct := strings.ToLower(strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0])); ct != "application/sdp" {
		return "", fmt.Errorf("answer Content-Type is %q, want application/sdp", ct)
	}
	if len(body) > maxBody || !bytes.HasPrefix(body, []byte("v=0")) {
		return "", errors.New("the answer is not SDP (or over 256 KiB)")
	}
	return string(body), nil
}

func runOffer(a *offerArgs, summary map[string]interface{}) error {
	deadline := time.Now().Add(a.timeout)
	var s webrtc.SettingEngine
	s.DetachDataChannels()
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	failed := make(chan struct{})
	var failOnce sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			failOnce.Do(func() { close(failed) })
		}
	})
	ordered := true
	opened := make(chan *channel, 2)
	echoDC, err := pc.CreateDataChannel("echo", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return err
	}
	openChannel(echoDC, true, opened)
	var sinkDC *webrtc.DataChannel
	if a.sink > 0 {
		if sinkDC, err = pc.CreateDataChannel("sink", &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
			return err
		}
		openChannel(sinkDC, true, opened)
	}

	t0 := time.Now()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err = pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-time.After(time.Until(deadline)):
		return errors.New("timed out gathering candidates")
	}
	sdp := pc.LocalDescription().SDP
	if a.setup == "active" {
		// We insist on the DTLS client role; Pion takes its role from
		// the answer all the same (passive: Pion is the client).
		sdp = strings.ReplaceAll(sdp, "a=setup:actpass", "a=setup:active")
	}
	summary["offer_setup"] = setupRe.FindAllStringSubmatch(sdp, -1)[0][1]
	answer, err := postOffer(a.url, sdp, time.Until(deadline))
	if err != nil {
		return err
	}
	if m := setupRe.FindStringSubmatch(answer); m != nil {
		summary["answer_setup"] = m[1]
	}
	if a.expectFP != "" {
		m := fingerprintRe.FindStringSubmatch(answer)
		if m == nil || normFP(m[1]) != normFP(a.expectFP) {
			return fmt.Errorf("the answer's fingerprint is not the expected %s", a.expectFP)
		}
		summary["fingerprint_ok"] = true
	}
	tPost := time.Now()
	if err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("answer rejected by Pion: %w", err)
	}
	want := 1
	if sinkDC != nil {
		want = 2
	}
	chans := map[string]*channel{}
	for len(chans) < want {
		select {
		case c := <-opened:
			chans[c.dc.Label()] = c
		case <-failed:
			return errors.New("the connection failed (ICE or DTLS) before the channels opened")
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("timed out: %d of %d channels opened (connection %s)", len(chans), want,
				pc.ConnectionState())
		}
	}
	tOpen := time.Now()
	if summary["answer_setup"] == "passive" {
		summary["pion_dtls"] = "client"
	} else {
		summary["pion_dtls"] = "server"
	}

	// -- echo: everything back, in order, with its type
	echo := chans["echo"]
	type item struct {
		data   []byte
		isText bool
	}
	var expected []item
	for i := 0; i < a.text; i++ {
		expected = append(expected, item{[]byte(textMessage(i, a.text)), true})
	}
	stream := prngStream(a.binaryBytes)
	for off := 0; off < len(stream); off += a.chunk {
		end := off + a.chunk
		if end > len(stream) {
			end = len(stream)
		}
		expected = append(expected, item{stream[off:end], false})
	}
	sendErr := make(chan error, 1)
	var echoedAtomic int64
	go func() {
		var sent int64
		for _, it := range expected {
			if err := waitRoom(echo.dc, deadline); err != nil {
				sendErr <- err
				return
			}
			for sent-atomic.LoadInt64(&echoedAtomic) > echoWindow {
				if time.Now().After(deadline) {
					sendErr <- errors.New("timed out waiting for echoes")
					return
				}
				time.Sleep(time.Millisecond)
			}
			sent += int64(len(it.data))
			if err := echo.send(it.data, it.isText); err != nil {
				sendErr <- fmt.Errorf("echo: send: %w", err)
				return
			}
		}
		sendErr <- nil
	}()
	echoed := 0
	for i, it := range expected {
		select {
		case m := <-echo.rx:
			if m.end {
				return fmt.Errorf("echo channel closed after %d of %d echoes", i, len(expected))
			}
			if m.isText != it.isText || !bytes.Equal(m.data, it.data) {
				return fmt.Errorf("echo %d differs (%d bytes back, %d sent, text %v/%v)", i, len(m.data),
					len(it.data), m.isText, it.isText)
			}
			echoed += len(m.data)
			atomic.StoreInt64(&echoedAtomic, int64(echoed))
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("timed out after %d of %d echoes", i, len(expected))
		}
	}
	if err := <-sendErr; err != nil {
		return err
	}
	summary["echoed_messages"] = len(expected)
	summary["echoed_bytes"] = echoed
	tEcho := time.Now()

	// -- sink: the device counts binary bytes and answers "done" with it
	if sink := chans["sink"]; sink != nil {
		chunk := make([]byte, a.chunk)
		for sent := 0; sent < a.sink; sent += len(chunk) {
			if a.sink-sent < len(chunk) {
				chunk = chunk[:a.sink-sent]
			}
			if err := waitRoom(sink.dc, deadline); err != nil {
				return err
			}
			if err := sink.send(chunk, false); err != nil {
				return fmt.Errorf("sink: send: %w", err)
			}
		}
		if err := sink.send([]byte("done"), true); err != nil {
			return fmt.Errorf("sink: send: %w", err)
		}
		select {
		case m := <-sink.rx:
			if m.end {
				return errors.New("sink channel closed before its count came")
			}
			if !m.isText || string(m.data) != strconv.Itoa(a.sink) {
				return fmt.Errorf("sink counted %q bytes, %d were sent", m.data, a.sink)
			}
		case <-time.After(time.Until(deadline)):
			return errors.New("timed out waiting for the sink's count")
		}
		summary["sink_bytes"] = a.sink
	}
	tDone := time.Now()
	ms := func(a, b time.Time) float64 { return float64(b.Sub(a).Microseconds()) / 1000 }
	summary["ms"] = map[string]float64{"post_to_open": ms(tPost, tOpen), "echo": ms(tOpen, tEcho),
		"sink": ms(tEcho, tDone), "total": ms(t0, tDone)}
	return nil
}

func mainOffer(args []string) int {
	fs := flag.NewFlagSet("offer", flag.ExitOnError)
	a := &offerArgs{}
	fs.IntVar(&a.text, "text", 10, "text messages to echo")
	fs.IntVar(&a.binaryBytes, "binary-bytes", 0, "binary bytes to echo")
	fs.IntVar(&a.chunk, "chunk", 16384, "binary message size (1..65536)")
	fs.IntVar(&a.sink, "sink-bytes", 0, "binary bytes for the sink channel (0: no sink)")
	fs.StringVar(&a.setup, "setup", "actpass", "the offer's a=setup: actpass or active")
	fs.StringVar(&a.expectFP, "expect-fingerprint", "", "refuse an answer with another sha-256 fingerprint")
	secs := fs.Float64("timeout", 30, "seconds for the whole exchange")
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(os.Stderr, "usage: %s offer URL [options]\n", prog)
		return 2
	}
	a.url = args[0]
	fs.Parse(args[1:])
	if a.chunk < 1 || a.chunk > 65536 || a.text < 0 || a.binaryBytes < 0 || a.sink < 0 || *secs <= 0 ||
		(a.setup != "actpass" && a.setup != "active") || fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: bad arguments (see the top of main.go)\n", prog)
		return 2
	}
	a.timeout = time.Duration(*secs * float64(time.Second))
	if u, err := url.Parse(a.url); err != nil || u.Scheme != "http" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "%s: URL must be http://HOST:PORT[/api/offer]\n", prog)
		return 2
	} else if u.Path == "" || u.Path == "/" {
		u.Path = "/api/offer"
		a.url = u.String()
	}
	summary := map[string]interface{}{"peer": "pion", "mode": "offer", "url": a.url, "ok": false}
	rc := 0
	if err := runOffer(a, summary); err != nil {
		summary["error"] = err.Error()
		rc = 1
	} else {
		summary["ok"] = true
	}
	line, _ := json.Marshal(summary)
	fmt.Println(string(line))
	if rc != 0 {
		fmt.Fprintf(os.Stderr, "%s: error: %s\n", prog, summary["error"])
	}
	return rc
}

// ---------------------------------------------------------------- answer mode

type answerer struct {
	api      *webrtc.API
	detached bool
	mu       sync.Mutex
	n        int
	pcs      map[*webrtc.PeerConnection]bool
}

func say(format string, a ...interface{}) { fmt.Printf(format+"\n", a...) }

// serveChannel runs "echo" or "sink" on c until it ends.
func serveChannel(sid int, c *channel) {
	label := c.dc.Label()
	var msgs, count, total int
	for m := <-c.rx; !m.end; m = <-c.rx {
		msgs++
		switch {
		case label == "echo":
			total += len(m.data)
			if err := c.send(m.data, m.isText); err != nil {
				say("session %d: echo: send: %v", sid, err)
			}
		case !m.isText:
			count += len(m.data)
			total += len(m.data)
		case string(m.data) == "done":
			if err := c.send([]byte(strconv.Itoa(count)), true); err != nil {
				say("session %d: sink: send: %v", sid, err)
			}
			count = 0
		}
	}
	say("session %d: %s channel closed after %d messages, %d bytes", sid, label, msgs, total)
}

func (s *answerer) answer(offer string) (int, string, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, "", err
	}
	s.mu.Lock()
	s.n++
	sid := s.n
	s.pcs[pc] = true
	s.mu.Unlock()
	drop := func() {
		s.mu.Lock()
		delete(s.pcs, pc)
		s.mu.Unlock()
		pc.Close()
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		say("session %d: connection %s", sid, st)
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateDisconnected {
			go drop()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		label := dc.Label()
		if label != "echo" && label != "sink" {
			say("session %d: channel %q ignored", sid, label)
			return
		}
		opened := make(chan *channel, 1)
		openChannel(dc, s.detached, opened)
		go func() {
			c := <-opened
			say("session %d: %s channel open (id %d)", sid, label, *dc.ID())
			serveChannel(sid, c)
		}()
	})
	if err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		drop()
		return 0, "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		drop()
		return 0, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err = pc.SetLocalDescription(answer); err != nil {
		drop()
		return 0, "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		drop()
		return 0, "", errors.New("gathering did not complete in 10 s")
	}
	sdp := pc.LocalDescription().SDP
	var offered, answered string
	if m := setupRe.FindStringSubmatch(offer); m != nil {
		offered = m[1]
	}
	if m := setupRe.FindStringSubmatch(sdp); m != nil {
		answered = m[1]
	}
	say("session %d: offer a=setup:%s, answered a=setup:%s", sid, offered, answered)
	return sid, sdp, nil
}

func (s *answerer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprintln(w, msg)
	}
	if r.URL.Path != "/api/offer" {
		fail(http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	if ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])); ct != "application/sdp" {
		fail(http.StatusUnsupportedMediaType, "want Content-Type: application/sdp")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		fail(http.StatusRequestEntityTooLarge, "offer too large")
		return
	}
	sid, answer, err := s.answer(string(body))
	if err != nil {
		fail(http.StatusBadRequest, "bad offer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", fmt.Sprintf("/api/session/%d", sid))
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

func mainAnswer(args []string) int {
	fs := flag.NewFlagSet("answer", flag.ExitOnError)
	port := fs.Int("port", 0, "HTTP port")
	bind := fs.String("bind", "0.0.0.0", "address to listen on")
	setup := fs.String("setup", "auto", "auto (stock Pion) or passive (answer as the DTLS server)")
	reader := fs.String("reader", "detached", "detached (1 MiB buffer) or stock (Pion's OnMessage, 65,535 bytes)")
	fs.Parse(args)
	if *port <= 0 || *port > 65535 || (*setup != "auto" && *setup != "passive") ||
		(*reader != "detached" && *reader != "stock") || fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: bad arguments (see the top of main.go)\n", prog)
		return 2
	}
	var s webrtc.SettingEngine
	if *reader == "detached" {
		s.DetachDataChannels()
	}
	if *setup == "passive" {
		if err := s.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	a := &answerer{api: webrtc.NewAPI(webrtc.WithSettingEngine(s)), detached: *reader == "detached",
		pcs: map[*webrtc.PeerConnection]bool{}}
	ln, err := net.Listen("tcp4", net.JoinHostPort(*bind, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	srv := &http.Server{Handler: a, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go srv.Serve(ln)
	say("listening on %s (setup %s, reader %s)", ln.Addr(), *setup, *reader)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	say("stopping")
	srv.Close()
	a.mu.Lock()
	pcs := a.pcs
	a.pcs = map[*webrtc.PeerConnection]bool{}
	a.mu.Unlock()
	for pc := range pcs {
		pc.Close()
	}
	return 0
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s offer URL [options] | %s answer -port P [options]\n", prog, prog)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "offer":
		os.Exit(mainOffer(os.Args[2:]))
	case "answer":
		os.Exit(mainAnswer(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown mode %q (offer or answer)\n", prog, os.Args[1])
		os.Exit(2)
	}
}
