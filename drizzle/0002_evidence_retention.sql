-- Evidence retention (EVIDENCE_RETENTION_DAYS): rows keep their sha256 when the bytes are deleted.
-- suspicion_score is computed from violations since before 0.1; the unused column goes.
ALTER TABLE "evidence" ADD COLUMN "purged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "evidence_session_idx" ON "evidence" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "evidence_storage_key_idx" ON "evidence" USING btree ("storage_key");--> statement-breakpoint
ALTER TABLE "sessions" DROP COLUMN "suspicion_score";