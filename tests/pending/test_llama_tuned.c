/* tests/pending/test_llama_tuned.c — parked: the tuned model against llama.cpp's recording.
 * With core/llama.c following llama.cpp's roundings, base and rl match bit for bit, but
 * tuned diverges at 3 of its 121 recorded steps (cases 'ROMEO:' step 9, 'The king said'
 * step 21, 'O Romeo...' step 23; worst top-20 logprob 0.22 nats, entropy 0.049), each time
 * from one value rounded the other way in layer 4's attention.  When that is found, move
 * this line into tests/unit/test_llama.c (it uses check_model there) and delete this file:
 *
 *     TEST(llama_tuned_matches_llamacpp) { check_model("tuned"); }
 */
