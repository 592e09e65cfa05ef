/*
 * app.js: the tripline page.  Submit a file, then follow its job live
 * through its Server-Sent Events stream (GET /api/jobs/{id}/events); the
 * recent jobs table is fed by GET /api/jobs once and then by the one
 * all-jobs stream (GET /api/events): browsers allow about six connections
 * per origin, so never one stream per row.  EventSource reconnects by
 * itself and sends Last-Event-ID, so a dropped stream resumes where it
 * left off; the server answers 204 once a job's final event was seen,
 * which stops it.  Text from the server only ever goes in as textContent
 * (or an attribute such as title), never as markup.
 */
'use strict';

(function () {
	const EVENTS = ['queued', 'started', 'progress', 'succeeded', 'failed',
	    'cancelled', 'retrying'];
	const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
	/* The job state an event leaves the job in. */
	const STATE_AFTER = {
		queued: 'queued', started: 'running', progress: 'running',
		succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled',
		retrying: 'retrying'
	};
	/* A part of a split job tried again leaves its job running. */
	const stateAfter = (name, d) =>
	    name === 'retrying' && d.part !== undefined ? 'running' :
	    STATE_AFTER[name];
	const LIST_SIZE = 20;
	const REJECTS_SHOWN = 10;	/* rejected rows shown under a job */

	const $ = (id) => document.getElementById(id);
	const fmt = new Intl.NumberFormat('en-US');

	function num(v) {
		return typeof v === 'number' ? fmt.format(Math.round(v)) : '–';
	}

	function bytes(v) {
		if (typeof v !== 'number')
			return '–';
		/* By what rounds up: 999,960 bytes is 1.0 MB, not 1000.0 kB. */
		if (v >= 999.95e6)
			return (v / 1e9).toFixed(2) + ' GB';
		if (v >= 999950)
			return (v / 1e6).toFixed(1) + ' MB';
		if (v >= 999.95)
			return (v / 1e3).toFixed(1) + ' kB';
		return v + ' B';
	}

	function duration(s) {
		if (typeof s !== 'number' || !isFinite(s))
			return '–';
		if (s < 59.5)
			return s.toFixed(s < 9.95 ? 1 : 0) + ' s';
		/* Whole seconds first: 119.6 s is 2 min 0 s, not 1 min 60 s. */
		const t = Math.round(s), m = Math.floor(t / 60);
		return m + ' min ' + (t - m * 60) + ' s';
	}

	/* The time of day, with the date too when that is not today. */
	function clock(iso) {
		const d = iso ? new Date(iso) : new Date();
		if (isNaN(d))
			return '';
		return d.toDateString() === new Date().toDateString() ?
		    d.toLocaleTimeString() : d.toLocaleString();
	}

	/* "1 row", "2 rows". */
	function count(n, what) {
		return num(n) + ' ' + what + (n === 1 ? '' : 's');
	}

	function setText(el, text) {
		el.textContent = text;
	}

	function setState(el, state) {
		el.className = 'state ' + state;
		setText(el, state);
	}

	/* -- the bearer token ------------------------------------------------- */

	const storedToken = window.triplineToken.stored;

	function showToken() {
		const have = storedToken() !== '';
		$('token-row').hidden = have;
		$('forget').hidden = !have;
	}

	/* The token typed in the field, else the one kept. */
	function token() {
		return $('token').value.trim() || storedToken();
	}

	/*
	 * After an answer to a request that carried token(): a typed token
	 * that worked is kept (and the field cleared), a 401 forgets the
	 * kept one and asks again.  Upload and cancel both ask this way.
	 */
	function tokenAnswered(status) {
		const typed = $('token').value.trim();
		if (status === 401) {
			window.triplineToken.forget();
			showToken();
			$('token').focus();
			return;
		}
		if (typed && status >= 200 && status < 300) {
			window.triplineToken.keep(typed);
			$('token').value = '';
		}
		showToken();
	}

	/* -- streams ------------------------------------------------------------ */

	/*
	 * An event stream that outlives HTTP errors.  EventSource reconnects
	 * by itself after a network error, but gives up for good on an HTTP
	 * error (WHATWG HTML 9.2.3, "fail the connection"), such as the 503
	 * nginx answers while the FastCGI program restarts.  Then a new one
	 * is opened after a pause, resuming with ?last_event_id= since a new
	 * EventSource cannot send the Last-Event-ID header itself, for as
	 * long as it takes: the pause grows to STREAM_RETRY_MAX_MS.  (It gave
	 * up after 60 tries, two minutes, and the page went on saying
	 * "reconnecting…" over a job that had long ended.)
	 */
	const STREAM_RETRY_MAX_MS = 15000;

	function openStream(url, onEvent, onStatus, onFresh) {
		const s = { es: null, last: null, closed: false, timer: 0, fails: 0,
		    stale: false };

		function open() {
			/*
			 * No id to resume from: what happened meanwhile is lost,
			 * so onFresh reads it again once the stream is open (and
			 * at the next opening if that read fails).
			 */
			if (s.es && s.last === null && onFresh)
				s.stale = true;
			const u = s.last === null ? url : url +
			    (url.indexOf('?') < 0 ? '?' : '&') + 'last_event_id=' +
			    encodeURIComponent(s.last);
			const es = new EventSource(u);
			s.es = es;
			EVENTS.forEach((name) => es.addEventListener(name, (e) => {
				if (s.es !== es || s.closed)
					return;
				s.fails = 0;
				if (e.lastEventId)
					s.last = e.lastEventId;
				onEvent(name, JSON.parse(e.data));
			}));
			es.onopen = () => {
				onStatus('live');
				if (!s.stale)
					return;
				s.stale = false;
				Promise.resolve(onFresh()).catch(() => {
					s.stale = true;
				});
			};
			es.onerror = () => {
				if (s.es !== es || s.closed)
					return;
				onStatus('reconnecting…');
				if (es.readyState === EventSource.CLOSED)
					s.timer = setTimeout(open, Math.min(
					    STREAM_RETRY_MAX_MS, 2000 * ++s.fails));
			};
		}
		s.close = () => {
			s.closed = true;
			clearTimeout(s.timer);
			if (s.es)
				s.es.close();
		};
		open();
		return s;
	}

	/* -- the job being followed --------------------------------------------- */

	const panel = { id: 0, stream: null, state: '', bytes: null,
	    retried: '' };

	function setBar(pct, state) {
		const p = Math.max(0, Math.min(100, pct));
		$('bar-fill').style.width = p + '%';
		setText($('bar-text'), (p === 100 ? '100' : p.toFixed(1)) + ' %');
		$('bar').setAttribute('aria-valuenow', String(Math.round(p)));
		$('bar').className = 'bar ' + (state || '');
	}

	function panelState(state) {
		panel.state = state;
		setState($('job-state'), state);
		$('cancel').hidden = !(state === 'queued' || state === 'running' ||
		    state === 'retrying');
	}

	/*
	 * The first rejected rows of the followed job, which ended with total
	 * of them (GET /api/jobs/{id}/rejects): line, reason and the row as
	 * it was, under a link to all of them.
	 */
	function showRejects(id, total) {
		if (!(total > 0))
			return;
		fetch('/api/jobs/' + id + '/rejects?limit=' + REJECTS_SHOWN)
		    .then((r) => r.ok ? r.json() : Promise.reject(r.status))
		    .then((body) => {
			if (panel.id !== id)
				return;		/* another job is followed now */
			const list = Array.isArray(body.rejects) ? body.rejects : [];
			const trs = list.map((x) => {
				const tr = document.createElement('tr');
				[String(x.line), x.reason, x.raw].forEach((t, i) => {
					const td = document.createElement('td');
					td.className = ['num', 'reason', 'raw'][i];
					setText(td, typeof t === 'string' ? t : '');
					if (i === 2)
						td.title = td.textContent;
					tr.appendChild(td);
				});
				return tr;
			});
			$('rejects-rows').replaceChildren(...trs);
			setText($('rejects-head'), list.length < total ?
			    'the first ' + list.length + ' of ' + num(total) +
			    ' rejected rows' : total === 1 ? 'the rejected row' :
			    'the ' + num(total) + ' rejected rows');
			/* The API's largest page; links.next leads on. */
			$('rejects-link').href = '/api/jobs/' + id +
			    '/rejects?limit=1000';
			$('rejects').hidden = list.length === 0;
		    })
		    .catch(() => { /* the summary still counts them */ });
	}

	function hideRejects() {
		$('rejects').hidden = true;
		$('rejects-rows').replaceChildren();
	}

	/*
	 * A failed or cancelled job keeps none of its rows (GET
	 * /api/jobs/{id} says 0 too): its last progress must not read as
	 * rows loaded, nor its estimate as time left.
	 */
	function nothingKept() {
		setText($('st-rows'), '0');
		setText($('st-rejected'), '0');
		['st-rate', 'st-eta'].forEach((id) => setText($(id), '–'));
	}

	function panelEvent(name, d) {
		const summary = $('job-summary');

		panelState(stateAfter(name, d));
		switch (name) {
		case 'queued':
			if (d.filename)
				setText($('job-name'), d.filename);
			panel.bytes = d.bytes;
			setText($('st-bytes'), '0 of ' + bytes(d.bytes));
			break;
		case 'started':
			/*
			 * Another attempt starts over: its counts from zero, and
			 * the reason the last one ended stays in sight (it was
			 * replaced at once, and the old counts stayed).
			 */
			summary.className = 'summary';
			setText(summary, d.attempt > 1 ? 'attempt ' + d.attempt +
			    (panel.retried ? ', after ' + panel.retried : '') : '');
			panel.retried = '';
			panel.bytes = d.bytes_total;
			setBar(0, '');
			['st-rows', 'st-rejected', 'st-rate', 'st-eta'].forEach(
			    (id) => setText($(id), '–'));
			setText($('st-bytes'), '0 of ' + bytes(d.bytes_total));
			break;
		case 'progress':
			panel.bytes = d.bytes_total;
			setBar(d.percent || 0, 'running');
			setText($('st-rows'), num(d.rows_loaded));
			setText($('st-rejected'), num(d.rows_rejected));
			setText($('st-rate'), num(d.rows_per_s));
			setText($('st-bytes'), bytes(d.bytes_read) + ' of ' +
			    bytes(d.bytes_total));
			/* After the reading no time is estimated: say what runs. */
			setText($('st-eta'), d.phase && d.phase !== 'reading' ?
			    d.phase + '…' : duration(d.eta_s));
			break;
		case 'succeeded':
			setBar(100, 'succeeded');
			setText($('st-rows'), num(d.rows_loaded));
			setText($('st-rejected'), num(d.rows_rejected));
			setText($('st-rate'), num(d.rows_per_s));
			setText($('st-eta'), '–');
			summary.className = 'summary';
			if (d.duplicate_of)
				setText(summary, 'the same content as job ' +
				    d.duplicate_of + ': nothing loaded again');
			else {
				/* A small file may end before its first progress. */
				setText($('st-bytes'), bytes(panel.bytes) + ' of ' +
				    bytes(panel.bytes));
				setText(summary, 'loaded ' + count(d.rows_loaded,
				    'row') + ' (' + num(d.rows_rejected) +
				    ' rejected) in ' + duration(d.elapsed_s) + ', ' +
				    num(d.rows_per_s) + ' rows/s');
				showRejects(panel.id, d.rows_rejected);
			}
			break;
		case 'failed':
			$('bar').className = 'bar failed';
			summary.className = 'summary failed';
			nothingKept();
			setText(summary, 'failed after ' + count(d.attempts,
			    'attempt') + ': ' + d.error);
			break;
		case 'cancelled':
			$('bar').className = 'bar cancelled';
			summary.className = 'summary';
			nothingKept();
			setText(summary, d.rows_loaded_before_cancel > 0 ?
			    'cancelled after ' + count(d.rows_loaded_before_cancel,
			    'row') + ': nothing of it is kept' : 'cancelled');
			break;
		case 'retrying':
			if (d.part === undefined)
				panel.retried = 'attempt ' + d.attempt + ' failed: ' +
				    d.error;
			summary.className = 'summary failed';
			setText(summary, (d.part !== undefined ?
			    'part ' + d.part + ', ' : '') + 'attempt ' +
			    d.attempt + ' failed: ' + d.error + '; next try at ' +
			    clock(d.next_try));
			break;
		}
	}

	function follow(job) {
		if (panel.stream)
			panel.stream.close();
		panel.id = job.id;
		panel.bytes = job.bytes;
		panel.retried = '';
		$('job').hidden = false;
		setText($('job-id'), String(job.id));
		setText($('job-name'), job.filename || '');
		setText($('job-summary'), '');
		$('job-summary').className = 'summary';
		['st-rows', 'st-rejected', 'st-rate', 'st-bytes', 'st-eta'].forEach(
		    (id) => setText($(id), '–'));
		setBar(0, '');
		hideRejects();
		panelState(job.state || 'queued');
		markCurrent();
		/*
		 * A job followed after another is a step Back returns from
		 * (hashchange, below); the first one replaces the bare page.
		 */
		if (location.hash !== '#job-' + job.id)
			history[/^#job-\d+$/.test(location.hash) ? 'pushState' :
			    'replaceState'](null, '', '#job-' + job.id);

		const s = openStream('/api/jobs/' + job.id + '/events',
		    (name, d) => {
			panelEvent(name, d);
			if (FINAL.has(name)) {
				/* Done: no reconnect (the server would say 204). */
				s.close();
				setText($('job-conn'), '');
			}
		    }, (text) => setText($('job-conn'), text));
		panel.stream = s;
	}

	/*
	 * Follow a job known by its id alone (the address, a duplicate's
	 * link): its row when the table has one, else the job as GET
	 * /api/jobs/{id} answers.  An id that names no job says so: its
	 * stream's 404 is an HTTP error that EventSource cannot tell from a
	 * restart, and the page would show it queued, reconnecting for ever.
	 */
	function followId(id) {
		const r = rows.get(id);
		if (r) {
			follow(r.job);
			return;
		}
		fetch('/api/jobs/' + id)
		    .then((res) => res.json().catch(() => null)
			.then((body) => ({ status: res.status, body })))
		    .catch(() => ({ status: 0, body: null }))
		    .then((res) => {
			if (res.status === 200 && res.body)
				follow(res.body);
			else
				notFollowed(id, problem(res));
		    });
	}

	function notFollowed(id, why) {
		if (panel.stream)
			panel.stream.close();
		panel.stream = null;
		panel.id = id;
		$('job').hidden = false;
		setText($('job-id'), String(id));
		setText($('job-name'), '');
		panelState('');
		setText($('job-conn'), '');
		['st-rows', 'st-rejected', 'st-rate', 'st-bytes', 'st-eta'].forEach(
		    (x) => setText($(x), '–'));
		setBar(0, '');
		hideRejects();
		$('job-summary').className = 'summary failed';
		setText($('job-summary'), why);
		markCurrent();
	}

	/* -- the recent jobs ------------------------------------------------------ */

	const rows = new Map();		/* job id -> row */

	function markCurrent() {
		rows.forEach((r, id) => r.tr.classList.toggle('current',
		    id === panel.id));
	}

	/*
	 * A link to job id, shown as text, that follows it with go(): not
	 * through the row's own click, and not by a reload of the address.
	 */
	function jobLink(id, text, go) {
		const a = document.createElement('a');
		a.href = '#job-' + id;
		setText(a, text);
		a.addEventListener('click', (e) => {
			e.preventDefault();
			e.stopPropagation();
			go();
		});
		return a;
	}

	function makeRow(job) {
		const tr = document.createElement('tr');
		const cells = {};
		['id', 'file', 'state', 'rows', 'rejected', 'progress', 'when'].forEach(
		    (k) => {
			const td = document.createElement('td');
			if (k === 'rows' || k === 'rejected')
				td.className = 'num';
			cells[k] = td;
			tr.appendChild(td);
		});
		const st = document.createElement('span');
		const dup = document.createElement('span');
		dup.className = 'dup';
		dup.hidden = true;
		cells.state.append(st, dup);
		const mini = document.createElement('span');
		mini.className = 'mini';
		const fill = document.createElement('span');
		mini.appendChild(fill);
		const pct = document.createElement('span');
		pct.className = 'pct';
		cells.progress.append(mini, pct);
		const r = { tr, cells, st, dup, fill, pct, job: { id: job.id } };
		/* A link, so that a keyboard reaches the job too. */
		cells.id.appendChild(jobLink(job.id, String(job.id),
		    () => follow(r.job)));
		setText(cells.when, clock(job.created_at));
		tr.addEventListener('click', () => follow(r.job));
		/* Newest first: before the first row with a lower id. */
		const body = $('jobs');
		let before = null;
		for (const other of body.children) {
			if (Number(other.dataset.id) < job.id) {
				before = other;
				break;
			}
		}
		tr.dataset.id = String(job.id);
		body.insertBefore(tr, before);
		rows.set(job.id, r);
		while (body.children.length > LIST_SIZE * 2) {
			const last = body.lastElementChild;
			rows.delete(Number(last.dataset.id));
			last.remove();
		}
		$('list-msg').hidden = true;
		return r;
	}

	/*
	 * A job whose content an earlier job loaded: "duplicate of #12",
	 * the number a link that follows that job.
	 */
	function setDuplicate(r, of) {
		r.job.duplicate_of = of;
		if (!Number.isInteger(of) || of < 1) {
			r.dup.hidden = true;
			return;
		}
		/* That job, not the row's own. */
		r.dup.replaceChildren('duplicate of ',
		    jobLink(of, '#' + of, () => followId(of)));
		r.dup.hidden = false;
	}

	function setRowPercent(r, p) {
		r.fill.style.width = Math.max(0, Math.min(100, p)) + '%';
		setText(r.pct, Math.round(p) + ' %');
	}

	function rowFromJob(job) {
		const had = rows.get(job.id);

		/*
		 * A list fetched again on a reconnect may answer after the
		 * stream's final event for a job: its older snapshot must not
		 * take the row back (a duplicate's mark, its counts, its state).
		 */
		if (had && FINAL.has(had.job.state) && !FINAL.has(job.state))
			return;
		const r = had || makeRow(job);
		Object.assign(r.job, job);
		setText(r.cells.file, job.filename || '');
		setState(r.st, job.state);
		setText(r.cells.rows, num(job.rows_loaded));
		setText(r.cells.rejected, num(job.rows_rejected));
		setDuplicate(r, job.duplicate_of);
		if (job.state === 'succeeded')
			setRowPercent(r, 100);
		else if (job.bytes > 0 && typeof job.bytes_read === 'number')
			setRowPercent(r, 100 * job.bytes_read / job.bytes);
		else
			setRowPercent(r, 0);
		markCurrent();
	}

	function rowEvent(name, d) {
		let r = rows.get(d.job);

		if (!r) {
			if (name !== 'queued')
				return;		/* a job older than the list */
			r = makeRow({ id: d.job });
			setRowPercent(r, 0);
		}
		r.job.state = stateAfter(name, d);
		setState(r.st, r.job.state);
		if (name === 'queued' && d.filename) {
			r.job.filename = d.filename;
			setText(r.cells.file, d.filename);
		}
		if (name === 'progress' || name === 'succeeded') {
			setText(r.cells.rows, num(d.rows_loaded));
			setText(r.cells.rejected, num(d.rows_rejected));
			setRowPercent(r, name === 'succeeded' ? 100 : d.percent || 0);
		}
		if (name === 'failed' || name === 'cancelled') {
			setText(r.cells.rows, '0');	/* nothing of it is kept */
			setText(r.cells.rejected, '0');
		}
		if (name === 'succeeded')
			setDuplicate(r, d.duplicate_of);
	}

	function loadList() {
		return fetch('/api/jobs?limit=' + LIST_SIZE)
		    .then((r) => r.ok ? r.json() : Promise.reject(r.status))
		    .then((body) => {
			body.jobs.forEach(rowFromJob);
			setText($('list-msg'), body.jobs.length ? '' :
			    'no jobs yet');
		    });
	}

	function startList() {
		/*
		 * The stream first, then the list: events that arrive before
		 * the list are kept and applied after it, in order, so none
		 * falls between the two.
		 */
		let pending = [];
		openStream('/api/events', (name, d) => {
			if (pending)
				pending.push([name, d]);
			else
				rowEvent(name, d);
		}, (text) => setText($('list-conn'), text), () => loadList()
		    .catch((e) => {
			setText($('list-msg'), 'could not load the jobs');
			throw e;
		    }));
		loadList()
		    .catch(() => setText($('list-msg'), 'could not load the jobs'))
		    .finally(() => {
			const p = pending;
			pending = null;
			p.forEach(([name, d]) => rowEvent(name, d));
			const want = /^#job-(\d+)$/.exec(location.hash);
			if (want && !panel.id)
				followId(Number(want[1]));
		    });
	}

	/* -- submitting --------------------------------------------------------- */

	function problem(res, what) {
		if (res.body && typeof res.body.detail === 'string')
			return res.body.detail;
		if (res.status === 0)
			return 'the server could not be reached';
		return (what || 'the request') + ' failed (' + res.status + ')';
	}

	/*
	 * XMLHttpRequest rather than fetch: it reports upload progress, which
	 * a file of gigabytes needs.  The body is multipart/form-data with the
	 * file as the part "file" (RFC 7578), as a plain form would send it.
	 */
	function send(file, token) {
		return new Promise((resolve) => {
			const x = new XMLHttpRequest();
			const fd = new FormData();
			fd.append('file', file, file.name);
			x.open('POST', '/api/jobs');
			if (token)
				x.setRequestHeader('Authorization', 'Bearer ' + token);
			/*
			 * In steps of ten: form-msg is a live region, and a
			 * screen reader would read out every percent.
			 */
			x.upload.onprogress = (e) => {
				if (e.lengthComputable)
					setText($('form-msg'), 'uploading ' +
					    10 * Math.floor(10 * e.loaded / e.total) +
					    ' %');
			};
			x.onload = () => {
				let body = null;
				try {
					body = JSON.parse(x.responseText);
				} catch (e) { /* not JSON */ }
				resolve({ status: x.status, body });
			};
			x.onerror = () => resolve({ status: 0, body: null });
			x.send(fd);
		});
	}

	/*
	 * The largest body POST /api/jobs takes, from GET /api/health: a
	 * file over it is refused here, not after gigabytes are sent for a
	 * 413.  Unknown (health not answering) leaves the server to say.  It
	 * counts the whole body: a file a few hundred bytes under it may
	 * still be a 413, which the server then says.
	 */
	let maxUpload = null;

	function loadLimit() {
		return fetch('/api/health')
		    .then((r) => r.ok ? r.json() : null)
		    .then((h) => {
			if (h && Number.isSafeInteger(h.max_upload))
				maxUpload = h.max_upload;
		    })
		    .catch(() => {});
	}

	/* What is wrong with the file chosen, or '' (sending it may tell more). */
	async function fileFault(file) {
		if (!file)
			return 'choose a file first';
		/* Asked again before refusing: the limit may have been raised. */
		if (maxUpload === null || file.size > maxUpload)
			await loadLimit();
		if (maxUpload !== null && file.size > maxUpload)
			return 'the file is ' + fmt.format(file.size) +
			    ' bytes, over the limit of ' + fmt.format(maxUpload) +
			    ' bytes';
		return '';
	}

	async function submit(ev) {
		ev.preventDefault();
		const msg = $('form-msg');
		const file = $('file').files[0];
		/*
		 * Disabled before the check, which may ask the server: one
		 * click, one upload.
		 */
		$('send').disabled = true;
		const fault = await fileFault(file);
		if (fault) {
			$('send').disabled = false;
			setText(msg, fault);
			return;
		}
		msg.className = '';
		setText(msg, 'uploading…');
		const res = await send(file, token());
		$('send').disabled = false;
		tokenAnswered(res.status);
		if (res.status === 202 && res.body) {
			setText(msg, '');
			$('upload').reset();
			rowFromJob(res.body);
			follow(res.body);
			return;
		}
		setText(msg, problem(res, 'the upload'));
	}

	/*
	 * The token typed in the field counts here as for an upload: a
	 * visitor who only follows a job types it, then cancels.
	 */
	async function cancel() {
		const id = panel.id;
		const t = token();
		/* The button hides once the job ends: keep focus in the panel. */
		$('job-h').setAttribute('tabindex', '-1');
		$('job-h').focus();
		const r = await fetch('/api/jobs/' + id + '/cancel', {
			method: 'POST',
			headers: t ? { Authorization: 'Bearer ' + t } : {}
		}).catch(() => ({ ok: false, status: 0, json: () =>
		    Promise.resolve(null) }));
		tokenAnswered(r.status);
		if (!r.ok && r.status !== 409) {
			const body = await r.json().catch(() => null);
			setText($('job-summary'), problem({ status: r.status, body },
			    'the cancel'));
		}
	}

	document.addEventListener('DOMContentLoaded', () => {
		showToken();
		$('upload').addEventListener('submit', submit);
		/* Said when the file is chosen, not only when it is sent. */
		$('file').addEventListener('change', async () => {
			const file = $('file').files[0];
			const fault = file ? await fileFault(file) : '';
			/* A file chosen meanwhile has its own answer. */
			if ($('file').files[0] === file)
				setText($('form-msg'), fault);
		});
		$('forget').addEventListener('click', () => {
			window.triplineToken.forget();
			showToken();
			/* The button is gone: focus where the token goes now. */
			$('token').focus();
		});
		$('cancel').addEventListener('click', cancel);
		/* An address edited to another job, or Back, follows it. */
		window.addEventListener('hashchange', () => {
			const want = /^#job-(\d+)$/.exec(location.hash);
			if (want && Number(want[1]) !== panel.id)
				followId(Number(want[1]));
		});
		startList();
	});
})();
