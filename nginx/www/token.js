/*
 * token.js: where both pages (app.js, reports.js) keep the bearer token,
 * so that a token given on one serves the other: localStorage, under one
 * key.  Storage may be refused (private browsing, a full quota); nothing
 * is kept then and the pages ask again.
 */
'use strict';

window.triplineToken = Object.freeze((function () {
	const KEY = 'tripline.token';
	return {
		/* The kept token, '' for none. */
		stored() {
			try {
				return localStorage.getItem(KEY) || '';
			} catch (e) {
				return '';
			}
		},
		keep(token) {
			try {
				localStorage.setItem(KEY, token);
			} catch (e) { /* not kept: asked again */ }
		},
		forget() {
			try {
				localStorage.removeItem(KEY);
			} catch (e) { /* nothing kept */ }
		}
	};
})());
