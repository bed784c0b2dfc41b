// The perl launcher of the local executor, embedded as a string so that it is found from dist/ as
// well as from src/. Node starts it once per LocalExecutor (`perl -e LAUNCHER_SCRIPT -- <dataDir>
// <clock> <rotateBytes> <cgroupVersion> <cgroupSwap> <cgroupDir> <wait4> <padding>`; cgroups: 1 or 2, swap
// 1 when there is a swap limit to set, the data dir's cgroup directory; `0 0 -` for none; wait4:
// the system call's number on this architecture, 0 for none), writes
// start requests to its stdin and reads reports from its stdout. The launcher itself supervises
// the attempts: it forks each command directly (one fork and one exec per attempt), reaps it, and
// records what happened in a journal file it owns. Only modules of perl-base are used (POSIX,
// Fcntl, Errno), which Debian and Ubuntu always install.
// Design: src/executors/README.md.
//
// Requests (stdin): a 4-byte big-endian length, then that many bytes: NUL-separated fields
//   start KEY WORKDIR LOGFILE MEMORY PROGRAM ARGC ARGV[0] .. ARGV[ARGC-1] NAME=VALUE ...
// (an argument or environment value may hold any byte but NUL). PROGRAM is the file to exec (the
// server resolved ARGV[0] in the job's PATH, as Docker does); the command gets ARGV as its argv.
// MEMORY is the attempt's memory limit in bytes (0: none), applied when the launcher has cgroups.
// Reports (stdout), one line each:
//   ready PID START         the launcher runs (START: its start time, /proc/PID/stat field 22);
//                           nothing is written to it before this line. Its first journal is 0.
//   journal SEQ             it writes to journal SEQ from now on: the requests acknowledged after
//                           this line are journaled there
//   ack N                   the next N requests were read and may be acted on (written before the
//                           launcher forks any of them). If the launcher dies, the requests it did
//                           not acknowledge were never acted on: the server sends them to the next one.
//   started KEY PID         the command's process was forked (it execs the command next)
//   exited KEY STATUS[ oom][ mem=KIB][ cpu=MS]
//                           the command ended: STATUS as a shell reports it; the X record is
//                           written; `oom`: it failed after an OOM kill in its cgroup; mem: its
//                           peak memory in KiB (the cgroup's high-water mark, else wait4's
//                           ru_maxrss), cpu: its user + system CPU time in ms (wait4's rusage,
//                           else the delta of times()), each where measured
//   failed KEY MESSAGE      the command could not be started (after `started`, when the child
//                           failed: its F record is written)
//
// The journal: <dataDir>/journals/journal.<launcher pid>.<launcher start time>.<seq>, opened with
// O_APPEND; each record is one line written with one write(2), so records of concurrent writers
// (the launcher and its forked children) never interleave:
//   S KEY PID LO HI MS      the child, first thing after the fork: its pid (= the command's, exec
//                           keeps it), bounds of its start time (LO <= /proc/PID/stat field 22 <=
//                           HI, clock ticks since boot: with the pid, it names the process for
//                           good; read from the boot-time clock just before and just after the
//                           fork, which costs the child no /proc read) and the epoch ms
//   X KEY STATUS MS[ oom][ mem=KIB][ cpu=MS]
//                           the launcher, after reaping the command (and emptying its cgroup),
//                           before it reports `exited` (the same fields as the report)
//   F KEY MS MESSAGE        the child (or the launcher, when fork fails): the command was not started
//   E                       the launcher read its stdin to the end: it forks nothing more
//   Q                       the launcher exits: every child it forked is reaped and journaled
//   R KEY                   the server (not the launcher) recorded the attempt's exit durably
// All records of one attempt go to the journal that was current when its request was acknowledged.
// A new journal is started when the current one exceeds ROTATE bytes; the server deletes old ones.
//
// The child, in this order: the S record; the claim (mkdir of the work dir: exclusive; a server
// that gave the attempt up made it first, and then the command is never run); setsid; chdir;
// stdin /dev/null; stdout and stderr appended to the log; with cgroups, the attempt's cgroup
// (CGROUPDIR/KEY) made, its memory limit set and the child moved in; an empty signal mask (the
// dispositions are the defaults already); exactly the request's environment; a last check that
// the launcher still lives (a command never runs without it); exec. The child does as little as it
// can: every page it writes before exec is a copy (fork is copy-on-write). A failure writes an F
// record and a line to a pipe the launcher drains (close-on-exec, shared by all children: the
// launcher never blocks on a child), then _exit(127). Because S comes before the claim, a server
// that finds an attempt's work dir taken (by a child) finds its S record too.
//
// The server dying (stdin EOF) does not stop the launcher: it reads what is left of its stdin,
// forks those attempts, writes E, keeps reaping and journaling, and exits (Q) when it has no child
// left. With cgroups, a reaped command's cgroup is read for an OOM kill (when it failed), what is
// left in it is killed (setsid'd processes included), and it is removed (again 50 ms later while
// killed processes are still on their way out). It blocks HUP, INT, QUIT, TERM and PIPE (they
// stay pending, never delivered): only SIGKILL ends it early, and then its commands' statuses are
// lost (the server kills them and reports them lost). Blocked rather than ignored, they keep their
// default dispositions for the children, and a signal that reaches a child before it unblocks
// them (a stop() right after the fork) waits for the unblocking instead of being discarded.
//
// The script must not contain a dollar sign followed by an opening brace, nor a backquote (it is a
// template literal).

/** $0 of the launcher, followed by a space and the data directory (its children keep it until they exec). */
export const PERL_LAUNCHER_NAME = 'openbatch-launcher';

export const LAUNCHER_SCRIPT = String.raw`
use strict;
use POSIX ();
use Fcntl qw(O_RDONLY O_WRONLY O_CREAT O_EXCL O_APPEND F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EINTR EAGAIN EEXIST ENOENT);

my ($data_dir, $clock, $rotate_at, $cg_ver, $cg_swap, $cg_dir, $wait4) = @ARGV;
$0 = "openbatch-launcher $data_dir";
POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new(POSIX::SIGHUP(), POSIX::SIGINT(), POSIX::SIGQUIT(), POSIX::SIGTERM(), POSIX::SIGPIPE()));
$SIG{CHLD} = sub { };    # a child's end interrupts select()
my $launcher = $$;
my $empty_mask = POSIX::SigSet->new();
$rotate_at = 4194304 unless defined $rotate_at && $rotate_at =~ /^[1-9][0-9]*$/;
my $hz = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
$cg_ver = 0 unless defined $cg_ver && ($cg_ver eq '1' || $cg_ver eq '2') && defined $cg_dir && $cg_dir =~ m{^/};
my ($cg_mem_file, $cg_swap_file) = $cg_ver == 1 ? ('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes') : ('memory.max', 'memory.swap.max');
$cg_swap = $cg_ver && defined $cg_swap && $cg_swap eq '1';
my $cg_kill = $cg_ver == 2 && -e "$cg_dir/cgroup.kill";
my $cg_peak_file = $cg_ver == 1 ? 'memory.max_usage_in_bytes' : 'memory.peak';    # v2: kernel 5.19+

# wait4(2) through syscall() (perl has no binding; its number comes from the server): it reaps like
# waitpid and returns the child's rusage, its reaped descendants included (64-bit struct rusage:
# ru_utime, ru_stime as two 8-byte fields each, then ru_maxrss in KiB). Checked once: with no child,
# wait4(-1, WNOHANG) fails with ECHILD; anything else and waitpid with times() deltas are used.
$wait4 = 0 unless defined $wait4 && $wait4 =~ /^[1-9][0-9]*$/ && length(pack('q', 0)) == 8 && eval {
    my ($s, $ru) = ("\0" x 4, "\0" x 144);
    syscall($wait4, -1, $s, 1, $ru) == -1 && $! == POSIX::ECHILD();
};
my $cpu_seen = 0;    # without wait4: the reaped children's CPU time so far (times()), seconds

# clock_gettime(CLOCK_REALTIME) in epoch ms, clock_gettime(CLOCK_BOOTTIME) in clock ticks (the
# unit of /proc/PID/stat's start time): through syscall(), whose number for this architecture comes
# from the server (perl-base has no Time::HiRes). Without it: whole seconds, and /proc.
sub now_ms {
    if ($clock) {
        my $t = "\0" x 16;
        if (syscall($clock, 0, $t) == 0) {
            my ($s, $ns) = unpack('q q', $t);
            return $s * 1000 + int($ns / 1000000);
        }
    }
    return time() * 1000;
}
sub boot_ticks {
    my $t = "\0" x 16;
    return -1 if syscall($clock, 7, $t) != 0;
    my ($s, $ns) = unpack('q q', $t);
    return $s * $hz + int($ns * $hz / 1000000000);
}
$clock = 0 unless defined $clock && $clock =~ /^[1-9][0-9]*$/ && eval { now_ms() > 1e12 && boot_ticks() >= 0 };

# Field 22 of /proc/PID/stat: when the process started (clock ticks since boot).
sub start_time {
    sysopen(my $f, "/proc/$_[0]/stat", 0) or return 0;
    my $s = '';
    sysread($f, $s, 2048);
    close $f;
    my $i = rindex($s, ')');
    return 0 if $i < 0;
    my @f = split / /, substr($s, $i + 2), 21;
    return $f[19] || 0;
}

# One write to a file that exists (a cgroup's); true when it took.
sub put {
    my ($file, $text) = @_;
    sysopen(my $f, $file, O_WRONLY) or return 0;
    my $n = syswrite($f, $text);
    close $f;
    return defined $n;
}
sub slurp {
    my ($file) = @_;
    sysopen(my $f, $file, O_RDONLY) or return undef;
    my $s = '';
    while (sysread($f, $s, 65536, length $s)) { }
    close $f;
    return $s;
}

sub clean {
    my ($s) = @_;
    $s =~ s/[\r\n]+/ /g;
    $s = substr($s, 0, 1000) if length($s) > 1000;
    return $s;
}

# Reports to the server: buffered, written without blocking (stdout is non-blocking); when the
# server is gone (EPIPE), they are dropped and the launcher carries on.
my $obuf = '';
my $server_gone = 0;
fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK);
sub out { $obuf .= $_[0] unless $server_gone }
sub flush_out {
    while (length $obuf) {
        my $n = syswrite(STDOUT, $obuf);
        if (defined $n) { substr($obuf, 0, $n, ''); next }
        next if $! == EINTR;
        return if $! == EAGAIN;
        $server_gone = 1;
        $obuf = '';
    }
}

# The journals.
my $me = start_time('self');
my $jdir = "$data_dir/journals";
mkdir $jdir;
my $jseq = -1;
my %jfh;      # seq => handle, while it may still be written to
my %jrefs;    # seq => children forked into it and not reaped yet
sub rotate {
    my $seq = $jseq + 1;
    my $path = "$jdir/journal.$$.$me.$seq";
    sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644) or return 0;
    my $old = $jseq;
    $jseq = $seq;
    $jfh{$seq} = $fh;
    $jrefs{$seq} = 0;
    delete $jfh{$old} if $old >= 0 && !$jrefs{$old};
    return 1;
}
rotate() or die "openbatch launcher: cannot create a journal in $jdir: $!\n";

# Children that could not start the command tell the launcher through this pipe (one write each,
# shorter than PIPE_BUF); both ends are close-on-exec (perl's default above fd 2).
pipe(my $fail_r, my $fail_w) or die "openbatch launcher: pipe: $!\n";
fcntl($fail_r, F_SETFL, fcntl($fail_r, F_GETFL, 0) | O_NONBLOCK) or die "openbatch launcher: fcntl: $!\n";

my %kids;      # pid => [key, journal seq]
my %failed;    # key => message, from the failure pipe
my $fbuf = '';
my $in = '';
my @todo;      # requests read, not forked yet
my $acked = 0; # how many of them were acknowledged
my $eof = 0;
my $said_eof = 0;

# The child: the attempt's cgroup made, its memory limit set, and the child moved in (so are the
# command and everything it forks). A cgroup removed under it (a sweep of empty leftovers, the data
# dir's directory removed at close) is made again. Undef, or why not.
sub join_cgroup {
    my ($key, $mem) = @_;
    my $cg = "$cg_dir/$key";
    my $err;
    for (1 .. 3) {
        if (!mkdir($cg) && $! != EEXIST) {
            $err = "cannot create the cgroup $cg: " . lcfirst("$!");
            if ($! == ENOENT) { mkdir $cg_dir; put("$cg_dir/cgroup.subtree_control", '+memory') if $cg_ver == 2 }
            next;
        }
        if ($mem && (!put("$cg/$cg_mem_file", $mem) || ($cg_swap && !put("$cg/$cg_swap_file", $cg_ver == 1 ? $mem : 0)))) {
            $err = "cannot set the memory limit of the cgroup $cg: " . lcfirst("$!");
            next;
        }
        return undef if put("$cg/cgroup.procs", $$);
        $err = "cannot move the command into the cgroup $cg: " . lcfirst("$!");
    }
    return $err;
}

sub child {
    my ($key, $work, $log, $mem, $program, $rest, $fh, $lo, $ms) = @_;
    my $fail = sub {
        my $msg = clean($_[0]);
        syswrite($fh, "F $key " . now_ms() . " $msg\n");
        syswrite($fail_w, "$key $msg\n");
        POSIX::_exit(127);
    };
    if ($clock) { syswrite($fh, "S $key $$ $lo " . boot_ticks() . " $ms\n") }
    else { my $st = start_time($$); syswrite($fh, "S $key $$ $st $st $ms\n") }
    # The claim: a server that gave the attempt up has made the work dir first.
    if (!mkdir $work) {
        if ($! == ENOENT) {    # work/ itself was removed under us
            (my $parent = $work) =~ s{/[^/]*$}{};
            mkdir $parent;
            mkdir $work or $fail->($! == EEXIST ? "the attempt was given up before it started ($work exists)" : "cannot create the working directory $work: " . lcfirst("$!"));
        } else {
            $fail->($! == EEXIST ? "the attempt was given up before it started ($work exists)" : "cannot create the working directory $work: " . lcfirst("$!"));
        }
    }
    POSIX::setsid();
    chdir $work or $fail->("cannot enter the working directory $work: " . lcfirst("$!"));
    my $fd = POSIX::open('/dev/null', O_RDONLY);
    $fail->("open /dev/null: $!") unless defined $fd && defined POSIX::dup2($fd, 0);
    POSIX::close($fd);
    $fd = POSIX::open($log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (!defined $fd && $! == ENOENT) {    # its directory was removed (or a file system mounted over logs/)
        my $dir = '';
        for (grep { $_ ne '' } split m{/}, substr($log, 0, rindex($log, '/'))) { $dir .= "/$_"; mkdir $dir }
        $fd = POSIX::open($log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    }
    $fail->("cannot open the log file $log: " . lcfirst("$!")) unless defined $fd && defined POSIX::dup2($fd, 1) && defined POSIX::dup2($fd, 2);
    POSIX::close($fd);
    if ($cg_ver) { my $err = join_cgroup($key, $mem); $fail->($err) if defined $err }
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $empty_mask);
    my @f = split /\0/, $rest, -1;
    my $argc = shift @f;
    $fail->('bad request') unless defined $argc && $argc =~ /^[1-9][0-9]*$/ && @f >= $argc;
    my @argv = splice(@f, 0, $argc);
    %ENV = ();
    for (@f) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = defined $v ? $v : '' }
    $fail->('the local launcher is gone') if getppid() != $launcher;    # never run unsupervised
    { exec { $program } @argv; }
    $fail->('exec: "' . $argv[0] . '": ' . lcfirst("$!"));
}

sub start {
    my ($req) = @_;
    my ($op, $key, $work, $log, $mem, $program, $rest) = split /\0/, $req, 7;
    if ($op ne 'start' || !defined $rest || !defined $key || $key !~ /^[^\s\/]+$/ || $mem !~ /^[0-9]+$/) {
        out("failed $key bad request\n") if defined $key && $key =~ /^\S+$/;
        return;
    }
    my $seq = $jseq;
    my $fh = $jfh{$seq};
    my ($lo, $ms) = ($clock ? boot_ticks() : 0, now_ms());
    my $pid = fork;
    if (!defined $pid) {
        my $msg = clean("fork: $!");
        syswrite($fh, "F $key " . now_ms() . " $msg\n");
        out("failed $key $msg\n");
        return;
    }
    if ($pid == 0) { child($key, $work, $log, $mem, $program, $rest, $fh, $lo, $ms); POSIX::_exit(127) }
    $kids{$pid} = [$key, $seq];
    $jrefs{$seq}++;
    out("started $key $pid\n");
}

sub parse_requests {
    my $off = 0;
    while (length($in) - $off >= 4) {
        my $len = unpack('N', substr($in, $off, 4));
        last if length($in) - $off - 4 < $len;
        push @todo, substr($in, $off + 4, $len);
        $off += 4 + $len;
    }
    substr($in, 0, $off, '') if $off;
}

# Acknowledge what was read (one line for all), then fork it once the acknowledgement is out.
sub work {
    if (!$acked && @todo) {
        if (-s $jfh{$jseq} >= $rotate_at && rotate()) { out("journal $jseq\n") }
        $acked = @todo;
        out("ack $acked\n");
        flush_out();
    }
    return if !$acked || length $obuf;
    while ($acked) { $acked--; start(shift @todo) }
}

sub drain_failures {
    for (;;) {
        my $n = sysread($fail_r, $fbuf, 65536, length $fbuf);
        next if !defined $n && $! == EINTR;
        last unless $n;
    }
    while ((my $nl = index($fbuf, "\n")) >= 0) {
        my $line = substr($fbuf, 0, $nl + 1, '');
        chop $line;
        my ($key, $msg) = split / /, $line, 2;
        $failed{$key} = defined $msg ? $msg : '';
    }
}

# The cgroup of a reaped command: was a process in it killed for want of memory (when the command
# failed)? Then what is left in it is killed, and it is removed (later while the killed processes
# are still on their way out: @cg_pending, tried again every loop turn for 10 s).
my @cg_pending;
sub cg_oom {
    my ($cg, $code) = @_;
    my $s = slurp($cg_ver == 1 ? "$cg/memory.oom_control" : "$cg/memory.events");
    return 0 unless defined $s;
    return $1 > 0 if $s =~ /^oom_kill ([0-9]+)$/m;
    return 0 unless $cg_ver == 1 && $code == 137;    # kernels before 4.13: no oom_kill count
    $s = slurp("$cg/memory.failcnt");
    return defined $s && $s =~ /^([0-9]+)/ && $1 > 0;
}
sub cg_kill {
    my ($cg) = @_;
    return if $cg_kill && put("$cg/cgroup.kill", '1');
    my $s = slurp("$cg/cgroup.procs");
    return unless defined $s;
    my @p = grep { $_ > 1 && $_ != $$ } ($s =~ /([0-9]+)/g);
    kill 'KILL', @p if @p;
}
sub cg_clean {
    my ($cg) = @_;
    return if rmdir($cg) || $! == ENOENT;
    cg_kill($cg);
    return if rmdir($cg) || $! == ENOENT;
    push @cg_pending, [$cg, 0];
}
sub cg_retry {
    @cg_pending = grep {
        my $p = $_;
        my $keep = !(rmdir($p->[0]) || $! == ENOENT);
        if ($keep) { cg_kill($p->[0]); $keep = ++$p->[1] < 200 }
        $keep;
    } @cg_pending;
}

# Reaps one child without blocking: (pid, status, usage fields for the X record), pid <= 0: none.
sub reap_one {
    if ($wait4) {
        my ($s, $ru) = ("\0" x 4, "\0" x 144);
        my $p = syscall($wait4, -1, $s, POSIX::WNOHANG(), $ru);
        return ($p) if $p <= 0;
        my ($us, $uu, $ss, $su, $max) = unpack('q5', $ru);
        return ($p, unpack('i', $s), $max, int(($us + $ss) * 1000 + ($uu + $su) / 1000));
    }
    my $p = waitpid(-1, POSIX::WNOHANG());
    return ($p) if $p <= 0;
    my $st = $?;
    my (undef, undef, $cu, $cs) = times;    # cumulative over the reaped children: this one is the delta
    my $cpu = $cu + $cs - $cpu_seen;
    $cpu_seen = $cu + $cs;
    return ($p, $st, undef, int($cpu * 1000 + 0.5));
}

sub reap {
    my @dead;
    for (;;) {
        my ($p, $st, $mem, $cpu) = reap_one();
        last if $p <= 0;
        push @dead, [$p, $st, $mem, $cpu];
    }
    return unless @dead;
    drain_failures();    # a child writes its failure before it exits
    for my $d (@dead) {
        my ($pid, $st, $mem, $cpu) = @$d;
        my $kid = delete $kids{$pid} or next;
        my ($key, $seq) = @$kid;
        kill 'KILL', -$pid;    # what is left of the command's process group
        my $msg = delete $failed{$key};
        my $code = ($st & 127) ? 128 + ($st & 127) : ($st >> 8);
        my $oom = '';
        if ($cg_ver) {
            my $cg = "$cg_dir/$key";
            $oom = ' oom' if !defined $msg && $code != 0 && cg_oom($cg, $code);
            # The cgroup's high-water mark: all its processes together (one read, before removal).
            my $peak = defined $msg ? undef : slurp("$cg/$cg_peak_file");
            $mem = int($1 / 1024) if defined $peak && $peak =~ /^([0-9]+)/ && $1 > 0;
            cg_clean($cg);    # and whatever left the process group (setsid)
        }
        if (defined $msg) {
            out("failed $key $msg\n");
        } else {
            my $use = (defined $mem ? " mem=$mem" : '') . (defined $cpu ? " cpu=$cpu" : '');
            syswrite($jfh{$seq}, "X $key $code " . now_ms() . "$oom$use\n");
            out("exited $key $code$oom$use\n");
        }
        delete $jfh{$seq} if --$jrefs{$seq} == 0 && $seq != $jseq;
    }
}

out("ready $$ $me\n");
for (;;) {
    reap();
    cg_retry() if @cg_pending;
    work();
    flush_out();
    if ($eof && !@todo) {
        if (!$said_eof) { syswrite($jfh{$jseq}, "E\n"); $said_eof = 1 }
        if (!%kids && !@cg_pending) {
            syswrite($jfh{$jseq}, "Q\n");
            flush_out();
            rmdir $cg_dir if $cg_ver;    # when empty: no attempt of this data dir has a cgroup
            exit 0;
        }
    }
    my $rin = '';
    vec($rin, 0, 1) = 1 unless $eof;
    vec($rin, fileno($fail_r), 1) = 1;
    my $wout;
    if (length $obuf) { $wout = ''; vec($wout, 1, 1) = 1 }
    # A SIGCHLD that arrives just before select() blocks is seen by perl only after it returns (perl
    # defers signal handlers): while children run (or cgroups wait for removal), select() also
    # returns every 50 ms.
    my $n = select(my $rout = $rin, $wout, undef, %kids || @cg_pending ? 0.05 : undef);
    next unless $n > 0;
    drain_failures() if vec($rout, fileno($fail_r), 1);
    if (!$eof && vec($rout, 0, 1)) {
        my $r = sysread(STDIN, $in, 262144, length $in);
        if (!defined $r) { next if $! == EINTR || $! == EAGAIN; $eof = 1 }
        elsif ($r == 0) { $eof = 1 }
        else { parse_requests() }
    }
}
`;
