mod response_seeds;
mod response_walks;
