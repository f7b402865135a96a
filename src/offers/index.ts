/** The offers stage: catalogs, the local machine's offer, matching and ranking. */
export type { Offer } from "./offer";
export { Catalog, loadCatalogs, catalogFromOffers, catalogDir, normalizeBackendName, clearCatalogCache } from "./catalog";
export {
  findOffers,
  matchOffer,
  offerViolations,
  compareOffers,
  describeOffer,
  noOffersError,
  noOffersHint,
  type FindOffersOptions,
  type OfferQueryResult,
  type NoOffersExplanation,
  type NearestOffer,
} from "./find";
export type { ConstraintName } from "./query";
export { requirementsOf, type OfferRequest, type Requirements } from "./requirements";
