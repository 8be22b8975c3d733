%% The side-by-side workloads on Erlang/OTP (see benchmarks/compare/run.py
%% for their definitions). run.py compiles this module with erlc into its
%% output directory and runs one workload per VM:
%%
%%   erl -noshell +P 2000000 -pa DIR -run compare main WORKLOAD N
%%
%% printing one RESULT line (the format of benchmarks/compare/common.hpp).
%%
%% Everything is plain processes and messages, as an Erlang programmer
%% writes them: a "pipe" or a "queue" is a process's mailbox (unbounded, no
%% backpressure); an event wake-up is a message to a process blocked in
%% receive; the lock-protected counter is a process that owns the counter
%% and serializes increments, each one a synchronous request/answer (the
%% body of a gen_server:call without gen_server's extra monitor and
%% bookkeeping). The supervised restart uses OTP's supervisor (this module
%% is its callback module). Only the measured part is timed.
-module(compare).
-behaviour(supervisor).
-export([main/1, init/1, start_crashy/1]).

main([Workload, NText]) ->
    N = list_to_integer(NText),
    Status =
        try
            Result = run(list_to_atom(Workload), N),
            print_result(Workload, N, Result),
            0
        catch
            Class:Reason:Stack ->
                io:format(standard_error, "compare.erl: ~p:~p~n~p~n",
                          [Class, Reason, Stack]),
                1
        end,
    halt(Status).

%% -- helpers -----------------------------------------------------------------

now_ns() -> erlang:monotonic_time(nanosecond).

seconds_since(T0) -> (now_ns() - T0) / 1.0e9.

rate(Ops, Seconds, Check) -> #{value => Ops / Seconds, unit => "ops/s",
                               seconds => Seconds, check => Check}.

num(X) when is_integer(X) -> integer_to_list(X);
num(X) -> binary_to_list(float_to_binary(float(X), [short])).

print_result(Workload, N, R = #{value := V, unit := U, seconds := S,
                                check := C}) ->
    P99 = case R of
              #{p99 := P} -> ", \"p99\": " ++ num(P);
              _ -> ""
          end,
    io:format("RESULT {\"workload\": \"~s\", \"system\": \"erlang\", "
              "\"n\": ~s, \"value\": ~s, \"unit\": \"~s\", "
              "\"seconds\": ~s, \"check\": ~s~s, \"otp\": \"~s\"}~n",
              [Workload, num(N), num(V), U, num(S), num(C), P99,
               erlang:system_info(otp_release)]).

%% Waits for K monitored processes to end; returns how many ended normally.
wait_down(K) -> wait_down(K, 0).

wait_down(0, Normal) -> Normal;
wait_down(K, Normal) ->
    receive
        {'DOWN', _, process, _, normal} -> wait_down(K - 1, Normal + 1);
        {'DOWN', _, process, _, _} -> wait_down(K - 1, Normal)
    end.

percentile(Sorted, Len, Q) ->
    Idx = min(max(ceil(Q * Len), 1), Len),
    lists:nth(Idx, Sorted).

%% -- workloads ---------------------------------------------------------------

%% (a) The main process sends 1..N to an echo process; check: the sum.
run(pipe_ping_pong, N) ->
    Echo = spawn(fun echo/0),
    T0 = now_ns(),
    Sum = ping_loop(Echo, 1, N, 0),
    Seconds = seconds_since(T0),
    Echo ! stop,
    rate(N, Seconds, Sum);

%% (b) A producer process sends 0..N-1 (or 1 KiB binaries) to the main
%% process's mailbox. A binary over 64 bytes is reference-counted and
%% shared, not copied, between processes of one VM.
run(queue_ints, N) ->
    Self = self(),
    T0 = now_ns(),
    spawn(fun() -> produce(Self, 0, N, fun(I) -> I end) end),
    Sum = consume(N, 0, fun(X) -> X end),
    rate(N, seconds_since(T0), Sum);
run(queue_1kib, N) ->
    Self = self(),
    T0 = now_ns(),
    spawn(fun() ->
                  produce(Self, 0, N,
                          fun(I) -> binary:copy(<<($a + I rem 26)>>, 1024) end)
          end),
    Sum = consume(N, 0, fun(B) -> byte_size(B) + binary:first(B) end),
    rate(N, seconds_since(T0), Sum);

%% (f) N times: spawn a process with an empty body and wait for its end
%% (a monitor's 'DOWN'); check: the ends with reason normal.
run(process_start_join, N) ->
    T0 = now_ns(),
    Ok = start_join_loop(N, 0),
    rate(N, seconds_since(T0), Ok);

%% (h) N times: send the clock to a process blocked in receive; it answers
%% with the time it woke. Sample: the difference.
run(event_latency, N) ->
    Waiter = spawn(fun waiter/0),
    T0 = now_ns(),
    Samples = wake_loop(Waiter, N, []),
    Seconds = seconds_since(T0),
    Waiter ! stop,
    Sorted = lists:sort(Samples),
    #{value => percentile(Sorted, N, 0.5) / 1000, unit => "us",
      seconds => Seconds, check => length(Samples),
      p99 => percentile(Sorted, N, 0.99) / 1000};

%% (i) Contenders each make N increments through a counter process, each
%% waiting for its answer; timed from `go` until all are done.
run(lock_counter_1, N) -> lock_counter(N, 1);
run(lock_counter_2, N) -> lock_counter(N, 2);

%% Actor workloads.
run(actor_ping_pong, N) ->
    Self = self(),
    T0 = now_ns(),
    Pong = spawn(fun() -> pong(N) end),
    spawn(fun() -> Pong ! {self(), 1}, Self ! {sum, ping(Pong, N, 0)} end),
    Sum = receive {sum, S} -> S end,
    rate(N, seconds_since(T0), Sum);
run(spawn_exit, N) ->
    %% N 'DOWN' messages pile up in this process's mailbox while it spawns;
    %% keeping them off its heap spares it a garbage collection of the
    %% whole queue at each heap growth (the usual Erlang remedy).
    process_flag(message_queue_data, off_heap),
    T0 = now_ns(),
    spawn_loop(N),
    Ended = wait_down(N),
    rate(N, seconds_since(T0), Ended);
run(mailbox_n_to_1, N) ->
    Self = self(),
    Senders = 64,
    T0 = now_ns(),
    Sink = spawn(fun() -> Self ! {sum, sink(N, 0)} end),
    Per = N div Senders,
    lists:foreach(
      fun(S) ->
              Count = case S + 1 < Senders of true -> Per;
                          false -> N - Per * S end,
              spawn(fun() -> send_range(Sink, Per * S, Per * S + Count) end)
      end, lists:seq(0, Senders - 1)),
    Sum = receive {sum, X} -> X end,
    rate(N, seconds_since(T0), Sum);
run(thread_ring, N) ->
    Self = self(),
    Size = 100,
    Ring = [element(1, spawn_monitor(fun() -> ring_member(Self) end))
            || _ <- lists:seq(1, Size)],
    Nexts = tl(Ring) ++ [hd(Ring)],
    lists:foreach(fun({P, Next}) -> P ! {next, Next} end,
                  lists:zip(Ring, Nexts)),
    T0 = now_ns(),
    hd(Ring) ! {token, N, 0},
    Hops = receive {hops, H} -> H end,
    wait_down(Size),
    rate(N, seconds_since(T0), Hops);
run(fork_join, N) ->
    Self = self(),
    K = 60,
    T0 = now_ns(),
    Workers = list_to_tuple(
                [spawn(fun() ->
                               Share = N div K + (case W < N rem K of
                                                      true -> 1;
                                                      false -> 0 end),
                               Self ! {sum, sink(Share, 0)}
                       end) || W <- lists:seq(0, K - 1)]),
    deal(Workers, K, 0, N),
    Total = collect_sums(K, 0),
    rate(N, seconds_since(T0), Total);

%% (d) N tasks X * X as maps of at most 1M items (0..M-1) on a pool of 2
%% worker processes, Python's default chunksize (M / 8, rounded up); the
%% input list is built before the clock starts, results are put back in
%% input order. Check: the sum of all results.
run(pool_map, N) ->
    Workers = pool_start(),
    Input = lists:seq(0, min(N, 1000000) - 1),
    T0 = now_ns(),
    Sum = map_batches(Workers, Input, N, 0),
    Seconds = seconds_since(T0),
    pool_stop(Workers),
    rate(N, Seconds, Sum);
%% (d) imap_unordered, chunksize 1: every task is its own chunk; results
%% are summed as they arrive.
run(pool_imap_unordered, N) ->
    Workers = pool_start(),
    T0 = now_ns(),
    Tasks = [{I, [I]} || I <- lists:seq(0, N - 1)],
    Sum = pool_run(Workers, Tasks, 0, fun(_, [R], Acc) -> Acc + R end),
    Seconds = seconds_since(T0),
    pool_stop(Workers),
    rate(N, Seconds, Sum);
%% (e) N times: one task through the pool, waiting for its result.
run(apply_async, N) ->
    Workers = pool_start(),
    T0 = now_ns(),
    {Samples, Right} = apply_loop(Workers, 0, N, [], 0),
    Seconds = seconds_since(T0),
    pool_stop(Workers),
    Sorted = lists:sort(Samples),
    #{value => percentile(Sorted, N, 0.5) / 1000, unit => "us",
      seconds => Seconds, check => Right,
      p99 => percentile(Sorted, N, 0.99) / 1000};
%% (g) A process holding a map serves set and get requests in a plain
%% receive loop (a gen_server:call without gen_server); another process
%% makes N set+get pairs (key I rem 1024, value I), each awaiting its
%% answer, timed inside it. Check: the gets that returned the value set.
run(manager_dict, N) ->
    Self = self(),
    Server = spawn(fun() -> dict_server(#{}) end),
    spawn(fun() ->
                  T0 = now_ns(),
                  Ok = dict_pairs(Server, 0, N, 0),
                  Self ! {pairs, Ok, seconds_since(T0)}
          end),
    {Ok, Seconds} = receive {pairs, O, S} -> {O, S} end,
    Server ! stop,
    rate(N, Seconds, Ok);

%% Batches of 100 restarts, each under a fresh one_for_one supervisor
%% with one permanent child (a supervisor keeps one timestamp per restart
%% within its period, so one allowing all N restarts would slow down with
%% N; troupe's run does the same). The main process tells the child to
%% fail and waits until its replacement has started. Sample (issue 5's
%% "child failure -> replacement running"): the replacement's start time
%% minus the failing child's last time before it exits. Check: how many
%% replacements were new processes.
run(supervised_restart_process, N) ->
    %% Erlang has one kind of process: the same run as supervised_restart.
    run(supervised_restart, N);
run(supervised_restart, N) ->
    %% No crash or supervisor reports: the run measures restarts, not
    %% logging (troupe's run silences its supervisor's events alike).
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true), % stopping a supervisor must not stop us
    T0 = now_ns(),
    {Samples, New} = restart_batches(N, [], 0),
    Seconds = seconds_since(T0),
    Sorted = lists:sort(Samples),
    #{value => percentile(Sorted, N, 0.5) / 1000, unit => "us",
      seconds => Seconds, check => New,
      p99 => percentile(Sorted, N, 0.99) / 1000}.

%% -- the pool of (d) and (e) -------------------------------------------------

%% Two worker processes; each squares the items of a chunk it is sent.
pool_start() ->
    Main = self(),
    [spawn_link(fun() -> pool_worker(Main) end) || _ <- [1, 2]].

pool_stop(Workers) -> [W ! stop || W <- Workers], ok.

pool_worker(Main) ->
    receive
        {chunk, I, Xs} ->
            Main ! {done, self(), I, [X * X || X <- Xs]},
            pool_worker(Main);
        stop -> ok
    end.

%% Runs the chunks ({Index, Items}) on the workers, each holding at most
%% two (the one it runs and the next, as a Python worker finds its next
%% task waiting in the task pipe); a worker that finishes one gets the
%% next chunk. Folds each result with Fold(Index, Results, Acc) on arrival.
pool_run(Workers, Chunks, Acc0, Fold) ->
    {Rest, InFlight} = prefill(Workers ++ Workers, Chunks, 0),
    pool_loop(Rest, InFlight, Acc0, Fold).

prefill([], Chunks, K) -> {Chunks, K};
prefill(_, [], K) -> {[], K};
prefill([W | Ws], [{I, Xs} | Cs], K) ->
    W ! {chunk, I, Xs},
    prefill(Ws, Cs, K + 1).

pool_loop(_, 0, Acc, _) -> Acc;
pool_loop(Chunks, K, Acc, Fold) ->
    receive
        {done, W, I, Rs} ->
            Acc2 = Fold(I, Rs, Acc),
            case Chunks of
                [{I2, Xs} | Cs] -> W ! {chunk, I2, Xs},
                                   pool_loop(Cs, K, Acc2, Fold);
                [] -> pool_loop([], K - 1, Acc2, Fold)
            end
    end.

map_batches(_, _, 0, Sum) -> Sum;
map_batches(Workers, Input, Left, Sum) ->
    M = min(Left, 1000000),
    Items = case M < length(Input) of
                true -> lists:sublist(Input, M);
                false -> Input
            end,
    Chunk = (M + 7) div 8,
    Parts = pool_run(Workers, chunks(Items, Chunk, 0), [],
                     fun(I, Rs, Acc) -> [{I, Rs} | Acc] end),
    Results = lists:append([Rs || {_, Rs} <- lists:keysort(1, Parts)]),
    map_batches(Workers, Input, Left - M, Sum + lists:sum(Results)).

chunks([], _, _) -> [];
chunks(L, C, I) ->
    {H, T} = take(C, L, []),
    [{I, H} | chunks(T, C, I + 1)].

take(0, L, Acc) -> {lists:reverse(Acc), L};
take(_, [], Acc) -> {lists:reverse(Acc), []};
take(K, [X | Xs], Acc) -> take(K - 1, Xs, [X | Acc]).

apply_loop(_, I, N, Samples, Right) when I >= N -> {Samples, Right};
apply_loop(Workers, I, N, Samples, Right) ->
    T0 = now_ns(),
    R = pool_run(Workers, [{0, [I]}], none, fun(_, [X], _) -> X end),
    T1 = now_ns(),
    Ok = case R =:= I * I of true -> 1; false -> 0 end,
    apply_loop(Workers, I + 1, N, [T1 - T0 | Samples], Right + Ok).

%% -- the dict server of (g) --------------------------------------------------

dict_server(M) ->
    receive
        {set, From, K, V} -> From ! {self(), ok}, dict_server(M#{K => V});
        {get, From, K} -> From ! {self(), maps:get(K, M)}, dict_server(M);
        stop -> ok
    end.

dict_pairs(_, I, N, Ok) when I >= N -> Ok;
dict_pairs(Server, I, N, Ok) ->
    K = I rem 1024,
    Server ! {set, self(), K, I},
    receive {Server, ok} -> ok end,
    Server ! {get, self(), K},
    V = receive {Server, X} -> X end,
    dict_pairs(Server, I + 1, N, Ok + (case V =:= I of true -> 1;
                                                         false -> 0 end)).

%% -- the supervised child ----------------------------------------------------

init({Main, N}) ->
    Flags = #{strategy => one_for_one,
              intensity => N, % never gives up in this run
              period => 3600},
    Child = #{id => crashy, start => {?MODULE, start_crashy, [Main]},
              restart => permanent, shutdown => brutal_kill},
    {ok, {Flags, [Child]}}.

%% Reports its start to Main; on `crash`, reports the time and exits
%% abnormally.
start_crashy(Main) ->
    {ok, spawn_link(fun() ->
                            Main ! {started, self(), now_ns()},
                            receive
                                crash -> Main ! {failing, now_ns()},
                                         exit(crash)
                            end
                    end)}.

restart_batches(0, Acc, New) -> {Acc, New};
restart_batches(N, Acc, New) ->
    Batch = min(100, N),
    {ok, Sup} = supervisor:start_link(?MODULE, {self(), Batch}),
    First = receive {started, P, _} -> P end,
    {Acc2, New2} = restart_loop(First, Batch, Acc, New),
    exit(Sup, shutdown),
    receive {'EXIT', Sup, _} -> ok end,
    restart_batches(N - Batch, Acc2, New2).

restart_loop(_, 0, Acc, New) -> {Acc, New};
restart_loop(Child, K, Acc, New) ->
    Child ! crash,
    T0 = receive {failing, T} -> T end,
    receive
        {started, Next, T1} ->
            Fresh = case Next =/= Child of true -> 1; false -> 0 end,
            restart_loop(Next, K - 1, [T1 - T0 | Acc], New + Fresh)
    end.

%% -- process bodies ----------------------------------------------------------

echo() ->
    receive
        {From, X} -> From ! {self(), X}, echo();
        stop -> ok
    end.

ping_loop(_, I, N, Sum) when I > N -> Sum;
ping_loop(Echo, I, N, Sum) ->
    Echo ! {self(), I},
    receive {Echo, X} -> ping_loop(Echo, I + 1, N, Sum + X) end.

produce(_, I, N, _) when I >= N -> ok;
produce(To, I, N, Make) -> To ! {item, Make(I)}, produce(To, I + 1, N, Make).

consume(0, Acc, _) -> Acc;
consume(K, Acc, Fold) ->
    receive {item, X} -> consume(K - 1, Acc + Fold(X), Fold) end.

start_join_loop(0, Ok) -> Ok;
start_join_loop(K, Ok) ->
    {_, Ref} = spawn_monitor(fun() -> ok end),
    receive
        {'DOWN', Ref, process, _, normal} -> start_join_loop(K - 1, Ok + 1);
        {'DOWN', Ref, process, _, _} -> start_join_loop(K - 1, Ok)
    end.

waiter() ->
    receive
        {go, From} -> From ! {woke, now_ns()}, waiter();
        stop -> ok
    end.

wake_loop(_, 0, Acc) -> Acc;
wake_loop(Waiter, K, Acc) ->
    T0 = now_ns(),
    Waiter ! {go, self()},
    receive {woke, T1} -> wake_loop(Waiter, K - 1, [T1 - T0 | Acc]) end.

lock_counter(N, Contenders) ->
    Self = self(),
    Counter = spawn(fun() -> counter(0) end),
    Cs = [spawn(fun() -> receive go -> ok end,
                         increments(Counter, N),
                         Self ! done
                end) || _ <- lists:seq(1, Contenders)],
    T0 = now_ns(),
    [C ! go || C <- Cs],
    [receive done -> ok end || _ <- Cs],
    Seconds = seconds_since(T0),
    Counter ! {get, self()},
    Value = receive {value, V} -> V end,
    Counter ! stop,
    rate(N * Contenders, Seconds, Value).

counter(V) ->
    receive
        {inc, From} -> From ! {ok, V + 1}, counter(V + 1);
        {get, From} -> From ! {value, V}, counter(V);
        stop -> ok
    end.

increments(_, 0) -> ok;
increments(Counter, K) ->
    Counter ! {inc, self()},
    receive {ok, _} -> increments(Counter, K - 1) end.

pong(N) ->
    receive
        {From, X} when X >= N -> From ! X;
        {From, X} -> From ! X, pong(N)
    end.

ping(Pong, N, Sum) ->
    receive
        X when X >= N -> Sum + X;
        X -> Pong ! {self(), X + 1}, ping(Pong, N, Sum + X)
    end.

spawn_loop(0) -> ok;
spawn_loop(K) -> spawn_monitor(fun() -> ok end), spawn_loop(K - 1).

sink(0, Sum) -> Sum;
sink(K, Sum) -> receive X -> sink(K - 1, Sum + X) end.

send_range(_, I, End) when I >= End -> ok;
send_range(To, I, End) -> To ! I, send_range(To, I + 1, End).

ring_member(Main) ->
    receive {next, Next} -> ring_loop(Main, Next) end.

ring_loop(Main, Next) ->
    receive
        {token, 0, Hops} -> Main ! {hops, Hops}, Next ! stop;
        {token, R, Hops} ->
            Next ! {token, R - 1, Hops + 1},
            ring_loop(Main, Next);
        stop -> Next ! stop
    end.

deal(_, _, I, N) when I >= N -> ok;
deal(Workers, K, I, N) ->
    element(I rem K + 1, Workers) ! I,
    deal(Workers, K, I + 1, N).

collect_sums(0, Total) -> Total;
collect_sums(K, Total) ->
    receive {sum, S} -> collect_sums(K - 1, Total + S) end.
