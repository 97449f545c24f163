-- Reference photos name their candidate, so erasing a candidate (DELETE /candidates/:id) finds them.
ALTER TABLE "evidence" ADD COLUMN "candidate_id" uuid;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_candidate_id_candidates_id_fk" FOREIGN KEY ("candidate_id") REFERENCES "public"."candidates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "evidence_candidate_idx" ON "evidence" USING btree ("candidate_id");--> statement-breakpoint
UPDATE "evidence" SET "candidate_id" = "candidates"."id" FROM "candidates" WHERE "candidates"."reference_evidence_id" = "evidence"."id";
