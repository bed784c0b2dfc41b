// The perl launcher of the local executor, embedded as a string so that it is found from dist/ as
// well as from src/. Node starts it once per LocalExecutor (`perl -e LAUNCHER_SCRIPT -- <dataDir>
// <padding>`), writes start requests to its stdin and reads reports from its stdout; the launcher
// forks one supervisor per attempt, which forks the command. Only modules of perl-base are used
// (POSIX, Fcntl, Errno), which Debian and Ubuntu always install. Design: src/executors/README.md.
//
// Requests (stdin): a 4-byte big-endian length, then that many bytes: NUL-separated fields
//   start KEY STATEDIR WORKDIR LOGFILE PROGRAM ARGC ARGV[0] .. ARGV[ARGC-1] NAME=VALUE ...
// (an argument or environment value may hold any byte but NUL). PROGRAM is the file to exec (the
// server resolved ARGV[0] in the job's PATH, as Docker does); the command gets ARGV as its argv.
// Reports (stdout), one line each:
//   ready PID               the launcher runs; nothing is written to it before this line
//   ack N                   the next N requests were read and may be acted on (written before the
//                           launcher acts on them: one per request, just before its fork). If the
//                           launcher dies, the requests it did not acknowledge were never acted
//                           on, and the server sends them to the next launcher.
//   started KEY PID         the command was exec'd (its pid file is written)
//   exited KEY STATUS       the command ended: STATUS as a shell reports it (the exit file is written)
//   failed KEY MESSAGE      the command could not be started (the failed and exit files are written,
//                           except when even that was impossible, or when the attempt had been
//                           given up: its work dir existed)
//   gone KEY exit|signal N  the supervisor ended without reporting `exited` or `failed`
//
// The supervisor claims its attempt before anything else, by creating the work dir (mkdir is
// exclusive): a server that gave the attempt up (no supervisor to be seen) created it first, and a
// supervisor that comes late does not run the command.
//
// Supervisors report to the launcher through one pipe the launcher holds (messages shorter than
// PIPE_BUF, so atomic); they never write to the launcher's stdout and ignore SIGPIPE: without the
// launcher they carry on, and their state files are the record. The launcher learns that a
// supervisor ended from waitpid (SIGCHLD), and reports a supervisor that ended without saying why.
//
// The script must not contain a dollar sign followed by an opening brace, nor a backquote (it is a
// template literal).

/** argv[0] ($0) a perl supervisor gives itself, followed by a space and its state directory. */
export const PERL_SUPERVISOR_NAME = 'openbatch-supervisor';

/** $0 of the launcher, followed by a space and the data directory (a supervisor has it until it names itself). */
export const PERL_LAUNCHER_NAME = 'openbatch-launcher';

/** Written by a supervisor whose command could not be started: "<message>\n" (then exit is "127\n"). */
export const FAILED_FILE = 'failed';

export const LAUNCHER_SCRIPT = String.raw`
use strict;
use POSIX ();
use Fcntl qw(O_WRONLY O_CREAT O_TRUNC F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EINTR EAGAIN EEXIST ENOENT);

my $data_dir = $ARGV[0];
$0 = "openbatch-launcher $data_dir";
$SIG{PIPE} = 'IGNORE';
$SIG{CHLD} = sub { };    # a supervisor's end interrupts select()
my @IGNORED_BY_SUPERVISOR = qw(HUP INT QUIT TERM PIPE);

pipe(my $rep_r, my $rep_w) or die "openbatch launcher: pipe: $!\n";
fcntl($rep_r, F_SETFL, fcntl($rep_r, F_GETFL, 0) | O_NONBLOCK) or die "openbatch launcher: fcntl: $!\n";

my %sup;     # supervisor pid => attempt key
my %done;    # attempt key => 1 once its supervisor reported exited or failed
my $in = '';
my $rep = '';

# Blocking write of a whole report to the server; when the server is gone, leave (the supervisors
# carry on: they are not killed).
sub out {
    my ($s) = @_;
    my $off = 0;
    while ($off < length $s) {
        my $n = syswrite(STDOUT, $s, length($s) - $off, $off);
        if (defined $n) { $off += $n; next }
        next if $! == EINTR;
        exit 0;
    }
}

sub clean {
    my ($s) = @_;
    $s =~ s/[\r\n]+/ /g;
    $s = substr($s, 0, 1000) if length($s) > 1000;
    return $s;
}

sub write_file {
    my ($path, $text) = @_;
    sysopen(my $f, $path, O_WRONLY | O_CREAT | O_TRUNC, 0644) or return 0;
    my $n = syswrite($f, $text);
    close($f) or return 0;
    return defined $n && $n == length $text;
}

# Field 22 of /proc/self/stat: when this process started (clock ticks since boot). With the pid, it
# names a process for good (pids are reused, start times of one pid are not).
sub start_time {
    open(my $f, '<', '/proc/self/stat') or return 0;
    my $s = <$f>;
    close $f;
    return 0 unless defined $s && $s =~ s/^.*\) //s;
    my @f = split / /, $s;
    return $f[19] || 0;
}

# A supervisor's report to the launcher: one write shorter than PIPE_BUF, so never interleaved with
# another supervisor's. Errors (the launcher is gone: EPIPE, SIGPIPE ignored) do not matter.
sub report { syswrite($rep_w, $_[0]) }

sub record_failure {
    my ($key, $dir, $msg) = @_;
    $msg = clean($msg);
    write_file("$dir/failed", "$msg\n");
    write_file("$dir/exit", "127\n");
    report("failed $key $msg\n");
}

sub supervise {
    my ($key, $dir, $work, $log, $program, $argv, $env) = @_;
    $SIG{$_} = 'IGNORE' for @IGNORED_BY_SUPERVISOR;
    $SIG{CHLD} = 'DEFAULT';
    POSIX::setsid();
    $0 = "openbatch-supervisor $dir";
    close $rep_r;
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>', '/dev/null');
    open(STDERR, '>', '/dev/null');
    my $start = start_time();

    # Claim the attempt by creating its work dir: a server that gave the attempt up (adopt found no
    # supervisor for it) has created it first, and then it must never run.
    my $claimed = mkdir $work;
    if (!$claimed && $! == ENOENT) {    # work/ itself was removed under us
        (my $parent = $work) =~ s{/[^/]*$}{};
        mkdir $parent;
        $claimed = mkdir $work;
    }
    if (!$claimed) {
        if ($! == EEXIST) {    # no record: the server that gave it up reported it
            report("failed $key the attempt was given up before it started (" . clean($work) . " exists)\n");
            POSIX::_exit(0);
        }
        record_failure($key, $dir, "mkdir $work: $!");
        POSIX::_exit(127);
    }

    # exec failure comes back through a close-on-exec pipe (perl sets FD_CLOEXEC above fd 2).
    my ($err_r, $err_w);
    if (!pipe($err_r, $err_w)) { record_failure($key, $dir, "pipe: $!"); POSIX::_exit(127) }
    my $supervisor = $$;
    my $pid = fork;
    if (!defined $pid) { record_failure($key, $dir, "fork: $!"); POSIX::_exit(127) }
    if ($pid == 0) {
        $0 = 'openbatch-command';    # never taken for the supervisor while it has not exec'd
        close $err_r;
        my $fail = sub { syswrite($err_w, clean($_[0])); POSIX::_exit(127) };
        POSIX::setsid();
        chdir $work or $fail->("chdir $work: $!");
        open(STDOUT, '>>', $log) or $fail->("open $log: $!");
        open(STDERR, '>&STDOUT') or $fail->("dup: $!");
        $SIG{$_} = 'DEFAULT' for @IGNORED_BY_SUPERVISOR;
        POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
        %ENV = ();
        for (@$env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = defined $v ? $v : '' }
        POSIX::_exit(127) if getppid() != $supervisor;    # killed meanwhile: never run unsupervised
        { exec { $program } @$argv; }
        $fail->('exec: "' . $argv->[0] . '": ' . lcfirst("$!"));
    }
    close $err_w;
    my $msg = '';
    for (;;) {
        my $n = sysread($err_r, $msg, 4096, length $msg);
        next if !defined $n && $! == EINTR;
        last unless $n;
    }
    close $err_r;
    if (length $msg) {
        waitpid($pid, 0);
        record_failure($key, $dir, $msg);
        POSIX::_exit(127);
    }

    write_file("$dir/pid", "$pid $$" . ($start ? " $start" : '') . "\n");
    report("started $key $pid\n");
    my $st;
    for (;;) {
        my $w = waitpid($pid, 0);
        if ($w == $pid) { $st = $?; last }
        next if $w == -1 && $! == EINTR;
        POSIX::_exit(70);    # cannot happen; without an exit file the attempt is reported lost
    }
    kill 'KILL', -$pid if $pid > 1;    # what is left of the command's process group
    my $code = ($st & 127) ? 128 + ($st & 127) : ($st >> 8);
    write_file("$dir/exit", "$code\n");
    report("exited $key $code\n");
    POSIX::_exit($code);
}

sub reap {
    my @dead;
    for (;;) {
        my $p = waitpid(-1, POSIX::WNOHANG());
        last if $p <= 0;
        push @dead, [$p, $?];
    }
    return @dead;
}

# Relay every complete report of the supervisors (all of them: called after reap(), so that the
# report of a supervisor reaped just now is seen before it would be reported gone).
sub drain {
    for (;;) {
        my $n = sysread($rep_r, $rep, 65536, length $rep);
        next if !defined $n && $! == EINTR;
        last unless $n;
    }
    my $end = rindex($rep, "\n");
    return if $end < 0;
    my $chunk = substr($rep, 0, $end + 1, '');
    while ($chunk =~ /^(?:exited|failed) (\S+)/mg) { $done{$1} = 1 }
    out($chunk);
}

sub requests {
    my $off = 0;
    my @reqs;
    while (length($in) - $off >= 4) {
        my $len = unpack('N', substr($in, $off, 4));
        last if length($in) - $off - 4 < $len;
        push @reqs, substr($in, $off + 4, $len);
        $off += 4 + $len;
    }
    return unless @reqs;
    substr($in, 0, $off, '');
    for my $req (@reqs) {
        # Before acting on a request: if the launcher dies now, the server knows which requests it
        # may have acted on (this one: it is settled through the claim) and which it never did
        # (the rest: they are sent to the next launcher).
        out("ack 1\n");
        my @f = split /\0/, $req, -1;
        my ($op, $key, $dir, $work, $log, $program, $argc) = splice(@f, 0, 7);
        if ($op ne 'start' || !defined $argc || $argc !~ /^[1-9][0-9]*$/ || @f < $argc) {
            out("failed $key bad request\n") if defined $key && $key =~ /^\S+$/;
            next;
        }
        my @argv = splice(@f, 0, $argc);
        my $pid = fork;
        if (!defined $pid) { out("failed $key " . clean("fork: $!") . "\n"); next }
        if ($pid == 0) { supervise($key, $dir, $work, $log, $program, \@argv, \@f); POSIX::_exit(70) }
        $sup{$pid} = $key;
    }
}

out("ready $$\n");
for (;;) {
    my $rin = '';
    vec($rin, 0, 1) = 1;
    vec($rin, fileno($rep_r), 1) = 1;
    # A SIGCHLD that arrives just before select() blocks is seen by perl only after it returns (perl
    # defers signal handlers): while supervisors run, select() also returns every second.
    my $n = select(my $rout = $rin, undef, undef, %sup ? 1 : undef);
    my @dead = reap();
    drain();
    for my $d (@dead) {
        my $key = delete $sup{$d->[0]};
        next if !defined $key || delete $done{$key};
        my $st = $d->[1];
        out("gone $key " . (($st & 127) ? 'signal ' . ($st & 127) : 'exit ' . ($st >> 8)) . "\n");
    }
    next unless $n > 0 && vec($rout, 0, 1);
    my $r = sysread(STDIN, $in, 262144, length $in);
    if (!defined $r) { next if $! == EINTR || $! == EAGAIN; exit 0 }
    exit 0 if $r == 0;    # the server closed us or died: leave, the supervisors carry on
    requests();
}
`;
