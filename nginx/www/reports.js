/*
 * reports.js: the reports page (docs/reports.md).  Four forms, one per
 * report endpoint; each answer is drawn from the endpoint's JSON and shows
 * the exact API address it came from.  What was asked lives in the page's
 * address (#w.region=Prague&g.min_trips=3&q1.top=2: each form's API
 * parameters, prefixed by its key), so a result can be kept, shared and
 * reloaded, and Back goes to the previous question.  A 400 or 404 names
 * its parameters (invalid_params): each reason goes under its field.
 * Reports need the bearer token only when the installation says so
 * (TRIPLINE_REPORTS_PUBLIC=0, 401): the page then asks for it once and
 * keeps it where the upload page does.  Text from the server only ever
 * goes in as textContent (or an attribute), never as markup.
 */
'use strict';

(function () {
	const $ = (id) => document.getElementById(id);
	const fmt = new Intl.NumberFormat('en-US');
	const fmtAvg = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

	/*
	 * The forms.  area: the name of the form's area radios (region or
	 * bbox), with the choice when neither is given; fields: the API's
	 * parameters the form has, each with its default (a value equal to
	 * it is left out of the request).
	 */
	const REPORTS = {
		w: { path: '/api/reports/weekly-average', area: 'w-area', none: 'region',
		    fields: { region: '', bbox: '', match: 'origin', from: '', to: '' },
		    render: renderWeekly },
		g: { path: '/api/reports/trip-groups', area: 'g-area', none: '',
		    fields: { region: '', bbox: '', min_trips: '', limit: '' },
		    render: renderGroups },
		q1: { path: '/api/reports/latest-datasource', fields: { top: '2' },
		    keep: { top: true }, render: renderLatest },
		q2: { path: '/api/reports/datasource-regions',
		    fields: { datasource: 'cheap_mobile' }, keep: { datasource: true },
		    render: renderSources }
	};
	const KEYS = Object.keys(REPORTS);
	/* The questions are answered as the page opens, the others when asked. */
	const ALWAYS = new Set(['q1', 'q2']);

	const asked = {};		/* key -> query string now in the address */
	const inflight = {};		/* key -> AbortController */
	const waiting = new Set();	/* keys whose report wants the token */

	function setText(el, text) {
		el.textContent = text;
	}

	function el(tag, className, text) {
		const e = document.createElement(tag);
		if (className)
			e.className = className;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function num(v) {
		return typeof v === 'number' ? fmt.format(v) : '–';
	}

	/*
	 * A query string as a person would write it: commas and colons stay
	 * as they are (RFC 3986 allows them in a query), so a box reads
	 * bbox=14.4,50,14.5,50.1 and can be pasted to curl; a space is %20.
	 */
	function enc(s) {
		/* ! ' ( ) * too, which encodeURIComponent leaves: the address
		 * goes between single quotes in "copy as curl". */
		return encodeURIComponent(s).replace(/%2C/gi, ',').replace(/%3A/gi, ':')
		    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
	}

	function qsOf(pairs) {
		return pairs.map(([k, v]) => enc(k) + '=' + enc(v)).join('&');
	}

	function str(v) {
		return typeof v === 'string' ? v : v === null || v === undefined ?
		    '' : String(v);
	}

	/* -- the bearer token ------------------------------------------------- */

	const storedToken = window.triplineToken.stored;

	function forgetToken() {
		window.triplineToken.forget();
		showToken();
		/* The button is gone with its line: focus the page's main. */
		document.querySelector('main').setAttribute('tabindex', '-1');
		document.querySelector('main').focus();
	}

	function showToken() {
		$('token-line').hidden = storedToken() === '';
	}

	/* The token typed and not yet kept, else the kept one. */
	function currentToken() {
		const typed = $('token').value.trim();
		return { token: typed || storedToken(), typed: typed !== '' };
	}

	function keepToken(token) {
		window.triplineToken.keep(token);
		$('token').value = '';
		$('token-form').hidden = true;
		setText($('token-msg'), '');
		showToken();
		loadRegions();
	}

	function askToken(key, detail) {
		waiting.add(key);
		if (storedToken() !== '' && !$('token').value)
			forgetToken();	/* refused: it is no longer the token */
		$('token-form').hidden = false;
		setText($('token-msg'), detail || 'the reports need the token');
		$('token').focus();
	}

	/* -- the page's address ------------------------------------------------ */

	/* #w.region=Prague&q1.top=3 -> { w: 'region=Prague', q1: 'top=3' } */
	function parseHash() {
		const pairs = {};
		const h = new URLSearchParams(location.hash.replace(/^#/, ''));
		for (const [k, v] of h) {
			const dot = k.indexOf('.');
			const key = dot < 0 ? k : k.slice(0, dot);
			if (!REPORTS[key])
				continue;
			pairs[key] = pairs[key] || [];
			if (dot >= 0)
				pairs[key].push([k.slice(dot + 1), v]);
		}
		const out = {};
		Object.keys(pairs).forEach((key) => { out[key] = qsOf(pairs[key]); });
		return out;
	}

	function hashOf(state) {
		const parts = [];
		KEYS.forEach((key) => {
			if (typeof state[key] !== 'string')
				return;
			const p = [...new URLSearchParams(state[key])];
			if (p.length === 0)
				parts.push(key);
			p.forEach(([k, v]) => parts.push(qsOf([[key + '.' + k, v]])));
		});
		return parts.length ? '#' + parts.join('&') : '';
	}

	function writeHash(push) {
		const h = hashOf(asked);
		if (h === location.hash || (h === '' && location.hash === ''))
			return;
		const url = location.pathname + location.search + h;
		if (push)
			history.pushState(null, '', url);
		else
			history.replaceState(null, '', url);
	}

	/* -- the forms ------------------------------------------------------------ */

	function form(key) {
		return $(key + '-form');
	}

	function areaOf(key) {
		const r = REPORTS[key];
		if (!r.area)
			return null;
		const c = form(key).querySelector('input[name="' + r.area + '"]:checked');
		return c ? c.value : r.none;
	}

	/* Show the fields of the area chosen, hide the others. */
	function showArea(key) {
		const area = areaOf(key);
		if (area === null)
			return;
		form(key).querySelectorAll('[data-area]').forEach((lab) => {
			lab.hidden = lab.dataset.area !== area;
		});
	}

	function setArea(key, area) {
		const r = REPORTS[key];
		form(key).querySelectorAll('input[name="' + r.area + '"]').forEach(
		    (i) => { i.checked = i.value === area; });
		showArea(key);
	}

	function fieldOf(key, name) {
		return $(key + '-' + name);
	}

	function clearErrors(key) {
		Object.keys(REPORTS[key].fields).forEach((name) => {
			const f = fieldOf(key, name);
			if (f) {
				f.removeAttribute('aria-invalid');
				setText($(key + '-' + name + '-err'), '');
			}
		});
		const msg = $(key + '-msg');
		msg.className = 'form-msg';
		msg.replaceChildren();
	}

	/* A reason under its field: false when that field is not shown. */
	function fieldError(key, name, reason) {
		const f = fieldOf(key, name);
		if (!f || f.closest('[hidden]'))
			return false;
		f.setAttribute('aria-invalid', 'true');
		setText($(key + '-' + name + '-err'), reason);
		return true;
	}

	/* The form's values into the form. */
	/*
	 * Put the query string's values in the form.  Returns whether the
	 * form holds every one: a date field cannot hold 2018-13-45, nor a
	 * number field abc, nor the form a parameter it has no field for.
	 */
	function fillForm(key, qs) {
		const r = REPORTS[key];
		const p = new URLSearchParams(qs || '');
		let held = true;
		Object.keys(r.fields).forEach((name) => {
			const f = fieldOf(key, name);
			const v = p.has(name) ? p.get(name) : r.fields[name];
			f.value = v;
			if (f.value !== v && (f.value.trim() !== v.trim() ||
			    f.tagName === 'SELECT'))
				held = false;
			if (f.tagName === 'SELECT' && f.value !== v)
				f.value = r.fields[name];
		});
		for (const name of p.keys())
			if (!(name in r.fields))
				held = false;
		if (r.area)
			setArea(key, p.has('bbox') ? 'bbox' : p.has('region') ?
			    'region' : r.none);
		clearErrors(key);
		return held;
	}

	/*
	 * The API's query string of the form, or null after saying under a
	 * field what is missing there.  Only the chosen area's fields go, and
	 * no value equal to its default.
	 */
	function readForm(key) {
		const r = REPORTS[key];
		const area = areaOf(key);
		const p = [];
		let ok = true;

		clearErrors(key);
		Object.keys(r.fields).forEach((name) => {
			const f = fieldOf(key, name);
			const shown = !f.closest('[hidden]');
			if (!shown)
				return;
			if (f.validity && f.validity.badInput) {
				fieldError(key, name, f.type === 'date' ?
				    'not a whole date' : 'must be a whole number');
				ok = false;
				return;
			}
			const v = f.type === 'text' ? f.value : f.value.trim();
			if ((name === 'region' || name === 'bbox') && name === area &&
			    v === '') {
				fieldError(key, name, name === 'region' ?
				    'enter a region name' :
				    'enter minLon,minLat,maxLon,maxLat');
				ok = false;
				return;
			}
			if (name === 'datasource' && v === '') {
				fieldError(key, name, 'enter a datasource name');
				ok = false;
				return;
			}
			if (v !== '' && (v !== r.fields[name] ||
			    (r.keep && r.keep[name])))
				p.push([name, v]);
		});
		if (!ok) {
			const first = form(key).querySelector('[aria-invalid="true"]');
			if (first)
				first.focus();
			return null;
		}
		return qsOf(p);
	}

	/* -- asking ---------------------------------------------------------------- */

	function apiUrl(key, qs) {
		return REPORTS[key].path + (qs ? '?' + qs : '');
	}

	/* The answer's address, as a link, and the same as a curl command. */
	function showApi(box, url, ms) {
		const abs = location.origin + url;
		const a = el('a', null, abs);
		a.href = url;
		const parts = ['API: ', a];
		if (navigator.clipboard && window.isSecureContext) {
			const b = el('button', 'link', 'copy as curl');
			b.type = 'button';
			b.addEventListener('click', () => {
				const auth = storedToken() ?
				    ' -H "Authorization: Bearer $TRIPLINE_TOKEN"' : '';
				navigator.clipboard.writeText("curl" + auth + " '" + abs + "'")
				    .then(() => setText(b, 'copied'),
				    () => setText(b, 'could not copy'));
			});
			parts.push(' ', b);
		}
		if (typeof ms === 'number')
			parts.push(el('span', 'took', 'answered in ' +
			    Math.max(1, Math.round(ms)) + ' ms'));
		box.replaceChildren(...parts);
	}

	/* A problem answer: each reason under its field, the detail below. */
	function showProblem(key, status, body, url, focus) {
		const msg = $(key + '-msg');
		const ps = body && Array.isArray(body.invalid_params) ?
		    body.invalid_params : [];
		let detail = body && typeof body.detail === 'string' ? body.detail :
		    status === 0 ? 'the server could not be reached' :
		    'the report failed (' + status + ')';
		const rest = [];
		ps.forEach((x) => {
			if (!x || typeof x.name !== 'string')
				return;
			if (!fieldError(key, x.name, str(x.reason)))
				rest.push(x.name + ': ' + str(x.reason));
		});
		if (rest.length && detail.indexOf(rest[0]) < 0)
			detail += ' (' + rest.join('; ') + ')';
		msg.className = 'form-msg bad';
		const a = el('a', null, 'API');
		a.href = url;
		msg.replaceChildren(el('span', 'detail', detail), ' ', a);
		$(key + '-result').hidden = true;
		const first = form(key).querySelector('[aria-invalid="true"]');
		if (first && focus)
			first.focus();
	}

	async function run(key, qs, focus) {
		const url = apiUrl(key, qs);
		const msg = $(key + '-msg');
		const result = $(key + '-result');
		const tok = currentToken();

		if (inflight[key])
			inflight[key].abort();
		const ctl = new AbortController();
		inflight[key] = ctl;
		clearErrors(key);
		msg.className = 'form-msg busy';
		setText(msg, 'asking…');
		result.setAttribute('aria-busy', 'true');
		const t0 = performance.now();
		let res, body = null;
		try {
			const headers = { Accept: 'application/json' };
			if (tok.token)
				headers.Authorization = 'Bearer ' + tok.token;
			res = await fetch(url, { headers, signal: ctl.signal });
			body = await res.json().catch(() => null);
		} catch (e) {
			if (e && e.name === 'AbortError')
				return;
			res = { status: 0, ok: false };
		} finally {
			if (inflight[key] === ctl) {
				delete inflight[key];
				result.removeAttribute('aria-busy');
			}
		}
		if (ctl.signal.aborted)
			return;
		if (res.status === 401) {
			clearErrors(key);
			result.hidden = true;
			setText(msg, 'waiting for the token');
			askToken(key, body && body.detail);
			return;
		}
		/*
		 * Not refused: the token typed is the token.  Only an answer of
		 * the API after its token check says so (a success, or a 400 or
		 * 404 naming a parameter); nginx answers 413, 414, 429 and 431
		 * before any check.
		 */
		if (tok.typed && (res.ok || ((res.status === 400 || res.status === 404) &&
		    body && Array.isArray(body.invalid_params))))
			keepToken(tok.token);
		/* Answered, if not as hoped: no longer waits for a token. */
		waiting.delete(key);
		if (!res.ok || !body) {
			showProblem(key, res.status, body, url, focus);
			return;
		}
		clearErrors(key);
		REPORTS[key].render(body, new URLSearchParams(qs));
		showApi(result.querySelector('.api'), url, performance.now() - t0);
		result.hidden = false;
	}

	function submit(key, ev) {
		ev.preventDefault();
		const qs = readForm(key);
		/* Refused here: the last answer is not this question's. */
		if (qs === null) {
			$(key + '-result').hidden = true;
			return;
		}
		asked[key] = qs;
		writeHash(true);
		run(key, qs, true);
	}

	/* The address changed (loaded, Back, edited): ask what it says. */
	function applyHash(first) {
		const want = parseHash();
		KEYS.forEach((key) => {
			const qs = want[key];
			if (!first && qs === asked[key])
				return;
			const held = fillForm(key, qs);
			if (typeof qs === 'string' && !held) {
				/*
				 * A value the form cannot hold: the API says what
				 * is wrong with it, under its field, rather than
				 * another question answered without it.
				 */
				asked[key] = qs;
				run(key, qs, false);
				return;
			}
			if (typeof qs === 'string') {
				const read = readForm(key);	/* as the form sends it */
				if (read === null) {
					asked[key] = qs;
					$(key + '-result').hidden = true;
					return;
				}
				asked[key] = read;
				run(key, read, false);
			} else {
				delete asked[key];
				if (ALWAYS.has(key))
					run(key, readForm(key) || '', false);
				else {
					if (inflight[key])
						inflight[key].abort();
					$(key + '-result').hidden = true;
				}
			}
		});
		writeHash(false);
	}

	/* -- answers ----------------------------------------------------------------- */

	/* The ISO 8601 week of a Monday YYYY-MM-DD: "2018-W18". */
	function isoWeek(day) {
		const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
		if (!m)
			return '';
		/* The week's Thursday is in the week's year. */
		const t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + 3));
		const jan1 = Date.UTC(t.getUTCFullYear(), 0, 1);
		const w = Math.floor((t - jan1) / 864e5 / 7) + 1;
		return t.getUTCFullYear() + '-W' + (w < 10 ? '0' : '') + w;
	}

	function areaText(area, match) {
		if (area && typeof area.region === 'string')
			return ['region ', el('strong', null, area.region)];
		if (area && Array.isArray(area.bbox)) {
			const b = area.bbox;
			const m = { origin: 'their origin', destination: 'their destination',
			    both: 'both their ends', either: 'either end' }[match];
			return ['box ', el('strong', 'code', b.join(',')),
			    ' (longitude ' + b[0] + ' to ' + b[2] + ', latitude ' + b[1] +
			    ' to ' + b[3] + ')' + (m ? ', trips with ' + m + ' in it' : '')];
		}
		return [''];
	}

	function renderWeekly(d) {
		const weeks = Array.isArray(d.weeks) ? d.weeks : [];
		const parts = areaText(d.area, d.match);
		if (weeks.length)
			parts.push(', weeks of ' + str(weeks[0].week_start) + ' to ' +
			    str(weeks[weeks.length - 1].week_start));
		$('w-area').replaceChildren(...parts);
		setText($('w-total'), num(d.total_trips));
		setText($('w-count'), num(d.week_count));
		const avg = $('w-avg');
		setText(avg, typeof d.weekly_average === 'number' ?
		    fmtAvg.format(d.weekly_average) : '–');
		avg.title = str(d.weekly_average);
		avg.dataset.value = str(d.weekly_average);

		showHint('w', d);

		const max = weeks.reduce((m, w) => Math.max(m, Number(w.trips) || 0), 0);
		const avgAt = max > 0 ? 100 * d.weekly_average / max : 0;
		const trs = weeks.map((w) => {
			const tr = el('tr');
			const day = str(w.week_start);
			tr.append(el('td', null, isoWeek(day)), el('td', null, day),
			    el('td', 'num', num(w.trips)));
			const td = el('td', 'barcol');
			const bar = el('span', 'wbar');
			const fill = el('span', 'fill');
			fill.style.width = (max > 0 ? 100 * w.trips / max : 0) + '%';
			const mark = el('span', 'avg');
			mark.style.left = Math.min(100, avgAt) + '%';
			mark.title = 'the weekly average';
			bar.append(fill, mark);
			td.appendChild(bar);
			tr.appendChild(td);
			tr.title = num(w.trips) + ' trips in the week of ' + day;
			return tr;
		});
		if (!trs.length) {
			const tr = el('tr');
			const td = el('td', 'none', 'no weeks: no trip is loaded, or ' +
			    'from / to miss every trip\'s week');
			td.colSpan = 4;
			tr.appendChild(td);
			trs.push(tr);
		}
		$('w-weeks').replaceChildren(...trs);
	}

	/* 50.052440 N, 14.425596 E: no doubt which is which. */
	function point(lon, lat) {
		if (typeof lon !== 'number' || typeof lat !== 'number')
			return '';
		return Math.abs(lat).toFixed(6) + (lat < 0 ? ' S' : ' N') + ', ' +
		    Math.abs(lon).toFixed(6) + (lon < 0 ? ' W' : ' E');
	}

	function cellTd(cell, lon, lat) {
		const td = el('td', 'cell');
		td.append(el('span', 'code', cell), el('span', 'pt', point(lon, lat)));
		td.title = 'centroid lon,lat ' + str(lon) + ',' + str(lat);
		return td;
	}

	/*
	 * A box given lat,lon: the answer's hint, and a button that asks again
	 * with the box it names.
	 */
	function showHint(key, d) {
		const hint = typeof d.hint === 'string' && d.hint !== '';
		$(key + '-hint').hidden = !hint;
		setText($(key + '-hint-text'), hint ? d.hint : '');
		const box = hint ? /try bbox=([-+0-9.eE]+(?:,[-+0-9.eE]+){3})/.exec(d.hint) :
		    null;
		const use = $(key + '-hint-use');
		use.hidden = !box;
		use.dataset.bbox = box ? box[1] : '';
	}

	/*
	 * Groups are drawn GROUPS_PAGE rows at a time: limit=10000 would
	 * make 70,000 cells at once, for rows no one scrolls to; the
	 * GeoJSON link and the API have them all.
	 */
	const GROUPS_PAGE = 500;
	let groupsLeft = [];

	function groupRow(g) {
		const tr = el('tr');
		const slot = el('td', 'slot', g.slot_start);
		slot.title = 'slot ' + str(g.slot);
		const seen = el('td', 'when');
		seen.append(el('span', 'first', g.first_seen),
		    el('span', 'last', g.last_seen));
		tr.append(el('td', 'num', num(g.trips)), el('td', null, g.region),
		    cellTd(g.origin_cell, g.origin_lon, g.origin_lat),
		    cellTd(g.dest_cell, g.dest_lon, g.dest_lat), slot, seen,
		    el('td', 'sources', Array.isArray(g.datasources) ?
		    g.datasources.join(', ') : ''));
		return tr;
	}

	function moreGroups() {
		const next = groupsLeft.slice(0, GROUPS_PAGE);
		groupsLeft = groupsLeft.slice(next.length);
		$('g-rows').append(...next.map(groupRow));
		$('g-more-line').hidden = groupsLeft.length === 0;
		setText($('g-more'), 'Show ' +
		    num(Math.min(GROUPS_PAGE, groupsLeft.length)) + ' more (' +
		    num(groupsLeft.length) + ' not shown)');
	}

	function renderGroups(d, p) {
		const groups = Array.isArray(d.groups) ? d.groups : [];
		const limit = Number(p.get('limit') || 100);
		const n = typeof d.count === 'number' ? d.count : groups.length;
		setText($('g-count'), (n === 1 ? '1 group' : num(n) + ' groups') +
		    (n >= limit ? ' (the limit: there may be more)' : '') +
		    (p.get('region') ? ' in ' + p.get('region') :
		    p.get('bbox') ? ' starting in the box ' + p.get('bbox') : '') +
		    ', of at least ' + num(Number(p.get('min_trips') || 2)) + ' trips');
		showHint('g', d);
		$('g-geojson').href = apiUrl('g', qsOf([...p, ['format', 'geojson']]));
		$('g-geojson').hidden = groups.length === 0;
		$('g-rows').replaceChildren();
		groupsLeft = groups;
		moreGroups();
		if (!groups.length) {
			const tr = el('tr');
			const td = el('td', 'none', 'no group of that many trips here');
			td.colSpan = 7;
			tr.appendChild(td);
			$('g-rows').appendChild(tr);
		}
	}

	function renderLatest(d) {
		setText($('q1-top-label'), num(d.top));
		const regions = Array.isArray(d.regions) ? d.regions : [];
		if (typeof d.datasource === 'string') {
			setText($('q1-datasource'), d.datasource);
			setText($('q1-when'), ', its latest trip at ' + str(d.last_seen) +
			    ' (as written in the file), among the trips of:');
		} else {
			setText($('q1-datasource'), 'none');
			setText($('q1-when'), ': no trip is loaded');
		}
		$('q1-regions').replaceChildren(...regions.map((r) => {
			const li = el('li');
			li.append(el('span', 'name', r.region), ' ',
			    el('span', 'count', num(r.trips) + ' trips'));
			return li;
		}));
	}

	function renderSources(d) {
		const regions = Array.isArray(d.regions) ? d.regions : [];
		setText($('q2-ds-label'), str(d.datasource));
		setText($('q2-answer'), '“' + str(d.datasource) + '” appeared in ' +
		    (regions.length === 0 ? 'no region' : regions.length === 1 ?
		    '1 region' : num(regions.length) + ' regions') +
		    (regions.length ? ':' : '.'));
		$('q2-rows').replaceChildren(...regions.map((r) => {
			const tr = el('tr');
			tr.append(el('td', null, r.region), el('td', 'num', num(r.trips)),
			    el('td', 'when', r.first_seen), el('td', 'when', r.last_seen));
			return tr;
		}));
	}

	/*
	 * The GeoJSON link is a plain link (open it, copy it); when the
	 * reports need the token, a link cannot send it, so the file is
	 * fetched with it and saved from memory instead.
	 */
	function geojsonClick(ev) {
		const tok = storedToken();
		const a = ev.currentTarget;
		if (!tok)
			return;
		ev.preventDefault();
		fetch(a.getAttribute('href'), { headers: { Authorization: 'Bearer ' + tok } })
		    .then((r) => r.ok ? r.blob() : r.json().catch(() => null).then(
			(body) => Promise.reject(body && body.detail ? body.detail :
			'the download failed (' + r.status + ')')))
		    .then((blob) => {
			const tmp = el('a');
			tmp.href = URL.createObjectURL(blob);
			tmp.download = a.download || 'trip-groups.geojson';
			document.body.appendChild(tmp);
			tmp.click();
			tmp.remove();
			setTimeout(() => URL.revokeObjectURL(tmp.href), 10000);
		    })
		    .catch((e) => {
			const msg = $('g-msg');
			msg.className = 'form-msg bad';
			setText(msg, typeof e === 'string' ? e :
			    'the server could not be reached');
		    });
	}

	/* Region names for the region fields: the regions by trips. */
	function loadRegions() {
		const tok = storedToken();
		fetch('/api/reports/latest-datasource?top=1000', {
			headers: tok ? { Authorization: 'Bearer ' + tok } : {}
		}).then((r) => r.ok ? r.json() : Promise.reject(r.status))
		    .then((d) => {
			const names = (Array.isArray(d.regions) ? d.regions : [])
			    .map((r) => r.region).filter((x) => typeof x === 'string');
			$('regions').replaceChildren(...names.map((name) => {
				const o = el('option');
				o.value = name;
				return o;
			}));
		    })
		    .catch(() => { /* the fields still take any name */ });
	}

	document.addEventListener('DOMContentLoaded', () => {
		showToken();
		KEYS.forEach((key) => {
			const f = form(key);
			f.addEventListener('submit', (ev) => submit(key, ev));
			const r = REPORTS[key];
			if (r.area)
				f.querySelectorAll('input[name="' + r.area + '"]').forEach(
				    (i) => i.addEventListener('change', () => showArea(key)));
			/* A field edited: its reason no longer applies. */
			f.addEventListener('input', (ev) => {
				const t = ev.target;
				if (t.getAttribute('aria-invalid')) {
					t.removeAttribute('aria-invalid');
					const e = $(t.id + '-err');
					if (e)
						setText(e, '');
				}
			});
		});
		$('g-geojson').addEventListener('click', geojsonClick);
		$('g-more').addEventListener('click', moreGroups);
		for (const key of ['w', 'g'])
			$(key + '-hint-use').addEventListener('click', () => {
				setArea(key, 'bbox');
				$(key + '-bbox').value = $(key + '-hint-use').dataset.bbox;
				form(key).requestSubmit();
			});
		$('token-form').addEventListener('submit', (ev) => {
			ev.preventDefault();
			if (!$('token').value.trim()) {
				setText($('token-msg'), 'enter the token');
				$('token').focus();
				return;
			}
			/*
			 * A key leaves waiting when it is answered, not here: a
			 * second submit while the first asks again asks again too.
			 */
			[...waiting].forEach((key) => run(key, asked[key] !== undefined ?
			    asked[key] : readForm(key) || '', false));
		});
		$('forget').addEventListener('click', forgetToken);
		window.addEventListener('popstate', () => applyHash(false));
		window.addEventListener('hashchange', () => applyHash(false));
		applyHash(true);
		loadRegions();
	});
})();
