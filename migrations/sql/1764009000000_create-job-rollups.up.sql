
  CREATE TABLE job_rollups (
    grain text NOT NULL CHECK (grain IN ('hour', 'day', 'month')),
    worker text,
    bucket timestamptz NOT NULL,
    completed bigint NOT NULL DEFAULT 0,
    retryable bigint NOT NULL DEFAULT 0,
    discarded bigint NOT NULL DEFAULT 0,
    cancelled bigint NOT NULL DEFAULT 0,
    snoozed bigint NOT NULL DEFAULT 0,
    dur_count bigint NOT NULL DEFAULT 0,
    dur_sum bigint NOT NULL DEFAULT 0,
    dur_max integer,
    hist integer[] NOT NULL DEFAULT '{}',
    CONSTRAINT job_rollups_key UNIQUE NULLS NOT DISTINCT (grain, worker, bucket)
  ) WITH (fillfactor = 70, toast_tuple_target = 8160);
  CREATE INDEX job_rollups_grain_bucket ON job_rollups (grain, bucket);
  CREATE TABLE job_rollup_reasons (
    grain text NOT NULL CHECK (grain IN ('hour', 'day', 'month')),
    worker text,
    bucket timestamptz NOT NULL,
    reason text,
    n bigint NOT NULL
  ) WITH (fillfactor = 70);
  -- A reason may be longer than a B-tree entry (2,704 bytes): the key holds its SHA-256. The database
  -- encoding never changes, so the conversion is as immutable as an index needs.
  CREATE FUNCTION job_rollup_reason_key(reason text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sha256(convert_to(reason, 'UTF8'));
  CREATE UNIQUE INDEX job_rollup_reasons_key
    ON job_rollup_reasons (grain, worker, bucket, job_rollup_reason_key(reason)) NULLS NOT DISTINCT;
  -- Inserted rows not folded yet: append-only, no index (a fold takes all of it, reads scan it whole;
  -- it stays small while a service folds every second, and the folder vacuums it after a burst).
  CREATE TABLE job_rollup_pending (
    inserted_at timestamptz NOT NULL,
    worker text NOT NULL,
    state text NOT NULL,
    reason text,
    duration_ms integer
  ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

  CREATE FUNCTION job_rollup_bin(duration_ms integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN width_bucket(duration_ms, '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,53,55,57,59,61,63,65,67,69,71,73,75,77,79,81,83,85,87,89,91,93,95,97,99,101,104,107,110,113,116,119,122,125,128,131,134,137,140,143,146,149,152,156,160,164,168,172,176,180,184,188,192,196,200,204,209,214,219,224,229,234,239,244,249,254,260,266,272,278,284,290,296,302,309,316,323,330,337,344,351,358,366,374,382,390,398,406,415,424,433,442,451,460,470,480,490,500,510,521,532,543,554,566,578,590,602,614,627,640,653,666,680,694,708,723,738,753,768,784,800,816,833,850,867,885,903,921,940,959,979,999,1019,1040,1061,1083,1105,1127,1150,1173,1197,1221,1246,1271,1297,1323,1350,1377,1405,1433,1462,1492,1522,1553,1584,1616,1649,1682,1716,1751,1786,1822,1859,1896,1934,1973,2013,2054,2095,2137,2180,2224,2269,2315,2362,2410,2458,2507,2557,2608,2660,2713,2767,2823,2880,2938,2997,3057,3118,3181,3245,3310,3376,3444,3513,3583,3655,3728,3803,3879,3957,4036,4117,4199,4283,4369,4456,4545,4636,4729,4824,4920,5018,5118,5220,5324,5430,5539,5650,5763,5878,5995,6115,6237,6362,6489,6619,6751,6886,7024,7164,7307,7453,7602,7754,7909,8067,8228,8392,8560,8731,8905,9083,9264,9449,9638,9830,10026,10226,10430,10638,10850,11066,11287,11512,11742,11976,12215,12459,12707,12960,13218,13482,13751,14025,14305,14590,14881,15178,15481,15790,16105,16426,16753,17087,17428,17775,18129,18490,18858,19234,19617,20008,20407,20814,21229,21652,22083,22523,22972,23430,23897,24373,24859,25354,25859,26374,26899,27435,27981,28538,29106,29686,30277,30880,31495,32122,32762,33414,34079,34758,35450,36156,36876,37610,38359,39123,39902,40697,41507,42333,43176,44036,44913,45807,46719,47649,48598,49566,50553,51560,52587,53634,54702,55791,56902,58035,59190,60368,61570,62796,64046,65321,66621,67947,69300,70680,72087,73522,74986,76479,78001,79554,81138,82753,84400,86080,87793,89541,91323,93141,94995,96886,98815,100782,102788,104834,106921,109049,111220,113434,115692,117995,120344,122739,125182,127674,130215,132807,135450,138146,140896,143700,146560,149477,152452,155486,158581,161737,164956,168239,171587,175002,178485,182037,185660,189355,193124,196968,200888,204886,208964,213123,217365,221691,226103,230603,235192,239873,244647,249516,254482,259547,264712,269980,275353,280833,286422,292122,297936,303865,309912,316080,322370,328786,335329,342003,348809,355751,362831,370052,377417,384928,392589,400402,408370,416497,424786,433240,441862,450656,459625,468772,478101,487616,497320,507217,517311,527606,538106,548815,559737,570876,582237,593824,605642,617695,629988,642525,655312,668353,681654,695219,709054,723165,737556,752234,767204,782472,798044,813926,830124,846644,863493,880677,898203,916078,934308,952901,971864,991205,1010930,1031048,1051566,1072493,1093836,1115604,1137805,1160448,1183541,1207094,1231116,1255616,1280603,1306087,1332079,1358588,1385624,1413198,1441321,1470004,1499258,1529094,1559523,1590558,1622211,1654493,1687418,1720998,1755246,1790176,1825801,1862135,1899192,1936986,1975533,2014847,2054943,2095837,2137545,2180083,2223467,2267714,2312842,2358868,2405810,2453686,2502515,2552316,2603108,2654910,2707743,2761628,2816585,2872636,2929802,2988106,3047570,3108217,3170071,3233156,3297496,3363117,3430044,3498302,3567919,3638921,3711336,3785192,3860518,3937343,4015697,4095610,4177113,4260238,4345017,4431483,4519670,4609612,4701344,4794901,4890320,4987638,5086892,5188122,5291366,5396665,5504059,5613590,5725301,5839235,5955436,6073950,6194822,6318099,6443830,6572063,6702848,6836235,6972277,7111026,7252536,7396862,7544060,7694187,7847302,8003464,8162733,8325172,8490843,8659811,8832142,9007902,9187160,9369985,9556448,9746622,9940580,10138398,10340153,10545923,10755787,10969828,11188128,11410772,11637847,11869441,12105643,12346546,12592243,12842829,13098402,13359061,13624907,13896043,14172575,14454610,14742257,15035628,15334837,15640001,15951238,16268668,16592415,16922605,17259365,17602827,17953124,18310392,18674769,19046397,19425421,19811987,20206246,20608351,21018458,21436726,21863317,22298398,22742137,23194706,23656281,24127041,24607170,25096853,25596281,26105647,26625150,27154991,27695376,28246514,28808620,29381912,29966613,30562949,31171152,31791458,32424109,33069349,33727430,34398606,35083139,35781294,36493342,37219560,37960230,38715639,39486081,40271855,41073265,41890623,42724247,43574460,44441592,45325980,46227968,47147905,48086149,49043064,50019021,51014400,52029587,53064976,54120970,55197978,56296418,57416717,58559310,59724641,60913162,62125334,63361629,64622526,65908515,67220095,68557775,69922075,71313525,72732665,74180046,75656229,77161788,78697308,80263385,81860627,83489654,85151099,86845606,88573834,90336454,92134150,93967620,95837576,97744744,99689865,101673694,103697001,105760572,107865208,110011726,112200960,114433760,116710992,119033541,121402309,123818215,126282198,128795214,131358239,133972268,136638317,139357420,142130633,144959033,147843718,150785808,153786446,156846797,159968049,163151414,166398128,169709451,173086670,176531095,180044064,183626941,187281118,191008013,194809073,198685774,202639621,206672150,210784926,214979547,219257640,223620868,228070924,232609536,237238466,241959512,246774507,251685320,256693858,261802066,267011928,272325466,277744743,283271864,288908975,294658264,300521964,306502352,312601749,318822524,325167093,331637919,338237514,344968441,351833313,358834796,365975609,373258524,380686369,388262028,395988443,403868614,411905600,420102522,428462563,436988969,445685050,454554183,463599812,472825449,482234676,491831147,501618587,511600797,521781653,532165108,542755194,553556023,564571788,575806767,587265322,598951902,610871045,623027379,635425624,648070594,660967199,674120447,687535444,701217400,715171627,729403543,743918674,758722656,773821237,789220280,804925764,820943787,837280569,853942453,870935908,888267533,905944057,923972344,942359394,961112346,980238482,999745228,1019640159,1039930999,1060625626,1081732076,1103258545,1125213391,1147605138,1170442481,1193734287,1217489600,1241717644,1266427826,1291629740,1317333172,1343548103,1370284711,1397553377,1425364690,1453729448,1482658665,1512163573,1542255629,1572946517,1604248153,1636172692,1668732529,1701940307,1735808920,1770351518,1805581514,1841512587,1878158688,1915534046,1953653174,1992530873,2032182238,2072622665,2113867857}'::integer[]);

  -- A histogram is a sparse N × 2 array {{bin, count}, …}, bins ascending, no zero counts.
  CREATE FUNCTION job_rollup_hist(bins integer[], counts bigint[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
      SELECT coalesce(array_agg(ARRAY[b, s::integer] ORDER BY b), '{}')
      FROM (SELECT b, sum(c) AS s FROM unnest(bins, counts) AS u (b, c) GROUP BY b HAVING sum(c) <> 0) g
    );

  -- Adds histogram b into a: a binary search per bin when b is a few bins (one statement's rows).
  CREATE FUNCTION job_rollup_hist_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
  DECLARE
    lo integer;
    hi integer;
    mid integer;
  BEGIN
    IF cardinality(a) = 0 THEN RETURN b; END IF;
    -- A big batch brings hundreds of bins: one hashed merge instead of an array copy per new bin.
    IF array_length(b, 1) > 16 THEN
      RETURN job_rollup_hist(a[:][1:1] || b[:][1:1], (a[:][2:2] || b[:][2:2])::bigint[]);
    END IF;
    FOR k IN 1 .. coalesce(array_length(b, 1), 0) LOOP
      lo := 1;
      hi := coalesce(array_length(a, 1), 0);
      WHILE lo <= hi LOOP
        mid := (lo + hi) / 2;
        IF a[mid][1] < b[k][1] THEN lo := mid + 1;
        ELSIF a[mid][1] > b[k][1] THEN hi := mid - 1;
        ELSE EXIT;
        END IF;
      END LOOP;
      IF lo > hi THEN
        a := a[1 : lo - 1][1 : 2] || ARRAY[[b[k][1], b[k][2]]] || a[lo :][1 : 2];
      ELSIF a[mid][2] + b[k][2] = 0 THEN
        a := a[1 : mid - 1][1 : 2] || a[mid + 1 :][1 : 2];
      ELSE
        a[mid][2] := a[mid][2] + b[k][2];
      END IF;
    END LOOP;
    RETURN a;
  END $$;

  
  CREATE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $fn$
  DECLARE
    folding job_rollup_pending[];
  BEGIN
    PERFORM pg_advisory_xact_lock(7301964118);
    WITH moved AS (
      DELETE FROM job_rollup_pending
      WHERE ctid = ANY (ARRAY(SELECT ctid FROM job_rollup_pending LIMIT max_rows))
      RETURNING job_rollup_pending AS pending_row
    )
    SELECT array_agg(pending_row) INTO folding FROM moved;
    IF folding IS NULL THEN RETURN 0; END IF;
    WITH 
  changes AS (SELECT u.worker, u.state, u.reason, u.duration_ms, u.inserted_at, 1 AS sign FROM unnest(folding) u),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist)
    SELECT grain, worker, bucket,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL))
    FROM keyed
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      completed = r.completed + EXCLUDED.completed,
      retryable = r.retryable + EXCLUDED.retryable,
      discarded = r.discarded + EXCLUDED.discarded,
      cancelled = r.cancelled + EXCLUDED.cancelled,
      snoozed = r.snoozed + EXCLUDED.snoozed,
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist);
    WITH 
  changes AS (SELECT u.worker, u.state, u.reason, u.duration_ms, u.inserted_at, 1 AS sign FROM unnest(folding) u),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n;
    RETURN cardinality(folding);
  END $fn$;
  CREATE FUNCTION job_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO job_rollup_pending (inserted_at, worker, state, reason, duration_ms)
    SELECT n.inserted_at, n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms
    FROM new_rows n;
    RETURN NULL;
  END $fn$;
  
  CREATE FUNCTION job_rollup_on_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist)
    SELECT grain, worker, bucket,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL))
    FROM keyed
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      completed = r.completed + EXCLUDED.completed,
      retryable = r.retryable + EXCLUDED.retryable,
      discarded = r.discarded + EXCLUDED.discarded,
      cancelled = r.cancelled + EXCLUDED.cancelled,
      snoozed = r.snoozed + EXCLUDED.snoozed,
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist);
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < date_add(r.bucket, interval '1 hour', 'UTC'))
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < date_add(r.bucket, interval '1 day', 'UTC'))
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < date_add(r.bucket, interval '1 month', 'UTC'))
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))
           UNION ALL
           SELECT n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END AS reason, n.duration_ms, n.inserted_at, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND (n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at))), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $fn$;
  
  CREATE FUNCTION job_rollup_on_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM job_rollup_fold();
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollups AS r (grain, worker, bucket, completed, retryable, discarded, cancelled, snoozed, dur_count, dur_sum, dur_max, hist)
    SELECT grain, worker, bucket,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0),
      coalesce(sum(n) FILTER (WHERE state = 'snoozed'), 0),
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL))
    FROM keyed
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      completed = r.completed + EXCLUDED.completed,
      retryable = r.retryable + EXCLUDED.retryable,
      discarded = r.discarded + EXCLUDED.discarded,
      cancelled = r.cancelled + EXCLUDED.cancelled,
      snoozed = r.snoozed + EXCLUDED.snoozed,
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist);
    WITH 
  changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ('hour'), ('day'), ('month')) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < date_add(r.bucket, interval '1 hour', 'UTC'))
     FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('hour', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'hour' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'hour' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'hour' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < date_add(r.bucket, interval '1 day', 'UTC'))
        FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('day', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'day' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'day' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = 'day' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < date_add(r.bucket, interval '1 month', 'UTC'))
        FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NOT NULL;
    WITH changes AS (SELECT o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END AS reason, o.duration_ms, o.inserted_at, -1 AS sign FROM old_rows o), removed AS (
      SELECT date_trunc('month', inserted_at, 'UTC') AS bucket, NULL::text AS worker,
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = 'month' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE r.grain = 'month' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     AND r.worker IS NULL;
    RETURN NULL;
  END $fn$;
  CREATE FUNCTION job_rollup_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_advisory_xact_lock(7301964118);
    DELETE FROM job_rollups;
    DELETE FROM job_rollup_reasons;
    DELETE FROM job_rollup_pending;
    RETURN NULL;
  END $fn$;
  CREATE TRIGGER job_rollup_insert AFTER INSERT ON job_execution_summaries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_insert();
  CREATE TRIGGER job_rollup_update AFTER UPDATE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_update();
  CREATE TRIGGER job_rollup_delete AFTER DELETE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_delete();
  CREATE TRIGGER job_rollup_truncate AFTER TRUNCATE ON job_execution_summaries
    FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_truncate();
