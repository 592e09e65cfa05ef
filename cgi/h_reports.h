/*
 * h_reports.h: the reports (docs/reports.md).  Each endpoint runs its
 * file under $TRIPLINE_SQL_DIR/reports/, read once at start.
 *
 *   GET /api/reports/weekly-average?bbox=minLon,minLat,maxLon,maxLat|region=NAME
 *       [&match=origin|destination|both|either][&from=YYYY-MM-DD][&to=YYYY-MM-DD]
 *   GET /api/reports/trip-groups?[region=NAME|bbox=...][&min_trips=N][&limit=N]
 *       [&format=json|geojson]
 *   GET /api/reports/latest-datasource[?top=N]
 *   GET /api/reports/datasource-regions?datasource=NAME
 *
 * 400 problem naming the parameter for a bad query, 404 for an unknown
 * region or datasource.
 */
#ifndef TRIPLINE_H_REPORTS_H
#define TRIPLINE_H_REPORTS_H

struct config;
struct http_req;

/* Read and prepare the report SQL files; 0, or -1 after logging. */
int	h_reports_start(const struct config *);
void	h_reports_stop(void);

void	h_reports_weekly(struct http_req *);
void	h_reports_groups(struct http_req *);
void	h_reports_latest(struct http_req *);
void	h_reports_sources(struct http_req *);

#endif
